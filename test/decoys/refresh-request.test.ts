import { describe, expect, it } from 'vitest';
import {
  looksLikeRefresh,
  refreshOptionsOf,
  refreshRequestSchema,
} from '../../layers/decoys/refresh-request';

const parse = (event: unknown) => refreshRequestSchema.parse(event);

describe('the refresh request', () => {
  it('the schedule (reason absent or "schedule") follows the cadence', () => {
    expect(parse({ action: 'refresh', id: 'e-1', time: '2025-03-14T03:00:00Z' })).toMatchObject({
      reason: 'schedule',
      id: 'e-1',
    });
    expect(refreshOptionsOf(parse({ action: 'refresh', id: 'e-1' }))).toEqual({ rotateKey: false });
    expect(refreshOptionsOf(parse({ action: 'refresh', reason: 'schedule', id: 'e-1' }))).toEqual({
      rotateKey: false,
    });
    // A missing id no longer means "the response": the reason says it.
    expect(refreshOptionsOf(parse({ action: 'refresh' }))).toEqual({ rotateKey: false });
  });

  it('the response workflow ("response", its execution name as id) rotates the key now', () => {
    const request = parse({ action: 'refresh', reason: 'response', id: 'f-0123456789abcdef' });
    expect(request.id).toBe('f-0123456789abcdef');
    expect(refreshOptionsOf(request)).toEqual({ rotateKey: true });
  });

  it('an unknown reason or an empty id is refused, naming the field', () => {
    const bad = refreshRequestSchema.safeParse({ action: 'refresh', reason: 'incident', id: 'x' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['reason']);
    expect(refreshRequestSchema.safeParse({ action: 'refresh', id: '' }).error?.issues[0]?.path).toEqual([
      'id',
    ]);
    expect(looksLikeRefresh({ action: 'refresh', reason: 'incident' })).toBe(true);
    expect(looksLikeRefresh({ RequestType: 'Create' })).toBe(false);
    expect(looksLikeRefresh(null)).toBe(false);
  });
});

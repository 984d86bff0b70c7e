import { describe, expect, it } from 'vitest';
import { FINDING_SCHEMA_VERSION, type Finding } from '../../layers/findings/finding';
import { findingMessage } from '../../layers/findings/publish';

const finding: Finding = {
  schemaVersion: FINDING_SCHEMA_VERSION,
  id: '0123456789abcdef0123456789abcdef',
  kind: 'resource-access',
  severity: 'high',
  title: 'Decoy ssm-parameter /prod/payments/db-password read',
  actor: { arn: 'arn:aws:iam::111122223333:user/alice', type: 'IAMUser' },
  region: 'us-east-1',
  eventNames: ['GetParameter'],
  eventIds: [],
  firstSeen: '2024-05-13T10:21:50Z',
  lastSeen: '2024-05-13T10:21:50Z',
  count: 1,
  evidence: [],
  response: { status: 'none' },
};

describe('finding mail', () => {
  it('keeps the blank lines between title, fields and JSON, and leaves absent fields out', () => {
    const { subject, body } = findingMessage(finding);
    expect(subject).toBe('[HIGH] Decoy ssm-parameter /prod/payments/db-password read');
    const lines = body.split('\n');
    expect(lines[0]).toBe(finding.title);
    expect(lines[1]).toBe('');
    expect(lines[2]).toBe('Kind:        resource-access');
    expect(body).not.toMatch(/Access key:|Source IP:|Score:/);
    expect(body).toContain(`Finding id:  ${finding.id}\n\n{`);
  });
});

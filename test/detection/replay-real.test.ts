import { describe, expect, it } from 'vitest';
import { honeytrail } from '../helpers/cli';

/**
 * "Would my decoys have caught this?" on real records: a decoy list naming two of
 * the parameters Stratus Red Team read (ssm-retrieve-securestring-parameters) and
 * one nobody read. Replay over every real record we ship finds exactly the two.
 */
describe('replay --decoys on real CloudTrail records', () => {
  it('finds exactly the touches of the listed decoys', async () => {
    const { code, out } = await honeytrail(
      'replay',
      '--decoys',
      'test/data/decoy-lists/stratus-parameters.json',
      '--json',
      'test/data/cloudtrail',
    );
    expect(code).toBe(0);
    const findings = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      // The last line is the run's summary (`{"summary":{...}}`), not a finding.
      .filter((line) => !('summary' in line));
    expect(findings.map((f) => f.resource.name).sort()).toEqual([
      '/credentials/stratus-red-team/credentials-17',
      '/credentials/stratus-red-team/credentials-40',
    ]);
    for (const finding of findings) {
      expect(finding.actor.arn).toBe('arn:aws:iam::933175858973:user/christophe');
      expect(finding.eventNames).toEqual(['GetParameters']);
      expect(finding.region).toBe('cn-west-3r');
    }
  });
});

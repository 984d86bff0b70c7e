import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  FORMAT_PATTERNS,
  generateSecrets,
  renderObjects,
  userPolicyDocument,
} from '../../layers/decoys/content';
import { seededRandom, withoutTells } from '../../layers/decoys/random';
import { specParts } from '../../layers/decoys/spec';
import { ACCOUNT, makeSpec, REGION } from './fixtures';

const target = { account: ACCOUNT, region: REGION, partition: 'aws' };
const key = {
  accessKeyId: 'AKIAZ7Q4M2XW8LBHT3RN',
  secretAccessKey: 'k3Jd8Qn2Wm5Zr7Tb1Yc4Vh6Xp9Ls0Af2Ge5Ui8O',
};
const now = new Date(Date.UTC(2025, 2, 14, 3, 0, 0));

/** Every leaf name the catalogue can generate, as explicit parameters. */
const everyLeaf = makeSpec({
  naming: { service: 'payments' },
  decoys: {
    ssm: {
      parameters: [
        { name: '/prod/payments/db-password', format: 'password' },
        { name: '/prod/payments/database-url', format: 'database-url' },
        { name: '/prod/payments/replica-db-url', format: 'database-url' },
        { name: '/prod/payments/jwt-signing-key', format: 'jwt-signing-key' },
        { name: '/prod/payments/stripe-secret-key', format: 'api-token' },
        { name: '/prod/payments/sendgrid-api-key', format: 'api-token' },
        { name: '/prod/payments/datadog-api-key', format: 'api-token' },
        { name: '/prod/payments/github-deploy-token', format: 'api-token' },
        { name: '/prod/payments/slack-bot-token', format: 'api-token' },
        { name: '/prod/payments/partner-token', format: 'api-token' },
        { name: '/prod/billing/db-password', format: 'password' },
      ],
    },
  },
});

describe('secret values', () => {
  it('are in the format their names promise, for many draws', () => {
    for (let seed = 0; seed < 200; seed++) {
      const { values } = generateSecrets(everyLeaf, seededRandom(String(seed)), target);
      for (const p of specParts(everyLeaf).parameters) {
        expect(values.get(p.name)).toMatch(FORMAT_PATTERNS[p.format!]);
      }
    }
  });

  it("look like the named vendor's tokens", () => {
    const { values } = generateSecrets(everyLeaf, seededRandom('v'), target);
    expect(values.get('/prod/payments/stripe-secret-key')).toMatch(/^sk_live_51[A-Za-z0-9]{96}$/);
    expect(values.get('/prod/payments/sendgrid-api-key')).toMatch(/^SG\.[\w-]{22}\.[\w-]{43}$/);
    expect(values.get('/prod/payments/datadog-api-key')).toMatch(/^[a-f0-9]{32}$/);
    expect(values.get('/prod/payments/slack-bot-token')).toMatch(/^xoxb-\d{12}-\d{13}-[A-Za-z0-9]{24}$/);
    const github = values.get('/prod/payments/github-deploy-token')!;
    expect(github).toMatch(/^ghp_[A-Za-z0-9]{36}$/);
    // The last six characters are the base62 CRC32 of the random part, as in real tokens.
    const digits = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const checksum = [...github.slice(34)].reduce((n, c) => n * 62 + digits.indexOf(c), 0);
    expect(checksum).toBe(crc32(github.slice(4, 34)));
  });

  it('describe one database: the password parameter and the URL agree, the host is stable', () => {
    const a = generateSecrets(everyLeaf, seededRandom('a'), target);
    const b = generateSecrets(everyLeaf, seededRandom('b'), target);
    const url = new URL(a.values.get('/prod/payments/database-url')!);
    expect(url.password).toBe(a.values.get('/prod/payments/db-password'));
    expect(url.hostname).toMatch(/^payments-prod\.cluster-[a-z0-9]{12}\.eu-west-1\.rds\.amazonaws\.com$/);
    expect(new URL(a.values.get('/prod/payments/replica-db-url')!).hostname).toContain('.cluster-ro-');
    // Rotation changes passwords, never the host (a real cluster keeps its endpoint).
    expect(a.database.host).toBe(b.database.host);
    expect(a.database.password).not.toBe(b.database.password);
    // Another service's password is its own.
    expect(a.values.get('/prod/billing/db-password')).not.toBe(a.database.password);
  });

  it('redraws a random value that happens to spell a marker word', () => {
    const draws = ['xTrapq9', 'aLURE', 'clean7'];
    expect(withoutTells(() => draws.shift()!, 'token')).toBe('clean7');
  });
});

describe('bait objects', () => {
  const spec = makeSpec();
  const parts = specParts(spec);
  const secrets = generateSecrets(spec, seededRandom('bait'), target);
  const objects = new Map(renderObjects({ spec, secrets, key, target, now }).map((o) => [o.key, o]));
  const bodyOf = (kind: string) => objects.get(parts.objects.find((o) => o.objectKind === kind)!.name)!.body;

  it('renders one object per planned key', () => {
    expect([...objects.keys()].sort()).toEqual(parts.objects.map((o) => o.name).sort());
  });

  it('the .env holds the access key, the database URL and every parameter name', () => {
    const env = bodyOf('env-file');
    expect(env).toContain(`AWS_ACCESS_KEY_ID=${key.accessKeyId}\n`);
    expect(env).toContain(`AWS_SECRET_ACCESS_KEY=${key.secretAccessKey}\n`);
    const url = parts.parameters.find((p) => p.format === 'database-url')!;
    expect(env).toContain(`DATABASE_URL=${secrets.values.get(url.name)}\n`);
    for (const p of parts.parameters) expect(env).toContain(`=${p.name}\n`);
    expect(env).toContain(`EXPORT_BUCKET=${parts.bucket!.name}`);
  });

  it('the dump has a schema and rows, and its comments lead to the database parameters', () => {
    const dump = bodyOf('database-dump');
    expect(dump).toContain('PostgreSQL database dump');
    expect(dump).toMatch(/CREATE TABLE public\.customers/);
    expect(dump.match(/^\d+\t\S+@example\.com\t/gm)?.length).toBeGreaterThanOrEqual(5);
    expect(dump).toContain(parts.parameters.find((p) => p.format === 'password')!.name);
    expect(dump).toContain(parts.parameters.find((p) => p.format === 'database-url')!.name);
    expect(dump).toContain(secrets.database.host);
  });

  it('a MySQL-named password gives a mysqldump', () => {
    const mysql = makeSpec({
      decoys: { ssm: { parameters: [{ name: '/prod/orders/mysql-root-password', format: 'password' }] } },
    });
    const s = generateSecrets(mysql, seededRandom('m'), target);
    const [dump] = renderObjects({ spec: mysql, secrets: s, key, target, now }).filter((o) =>
      o.key.endsWith('.sql'),
    );
    expect(dump!.body).toContain('MySQL dump');
    expect(dump!.body).toContain('/prod/orders/mysql-root-password');
    expect(s.database.port).toBe(3306);
  });

  it('the state file is terraform state v4 naming the parameters, the user and the bucket', () => {
    const state = JSON.parse(bodyOf('terraform-state'));
    expect(state).toMatchObject({ version: 4, terraform_version: expect.stringMatching(/^1\.\d+\.\d+$/) });
    expect(state.lineage).toMatch(/^[0-9a-f]{32}$/);
    expect(Number.isInteger(state.serial)).toBe(true);
    const byType = (type: string) => state.resources.filter((r: { type: string }) => r.type === type);
    const params = byType('aws_ssm_parameter');
    expect(
      params.map((r: { instances: [{ attributes: { name: string } }] }) => r.instances[0].attributes.name),
    ).toEqual(parts.parameters.map((p) => p.name));
    for (const r of params) {
      const attributes = r.instances[0].attributes;
      expect(attributes.value).toBe(secrets.values.get(attributes.name));
      expect(attributes.type).toBe('SecureString');
      expect(r.provider).toBe('provider["registry.terraform.io/hashicorp/aws"]');
    }
    expect(byType('aws_iam_user')[0].instances[0].attributes).toMatchObject({
      name: parts.user!.name,
      path: '/',
    });
    expect(byType('aws_s3_bucket')[0].instances[0].attributes.bucket).toBe(parts.bucket!.name);
    // Resource names are unique within the module, as terraform requires.
    const addresses = state.resources.map((r: { type: string; name: string }) => `${r.type}.${r.name}`);
    expect(new Set(addresses).size).toBe(addresses.length);
  });

  it('without a key the .env has no credentials', () => {
    const [env] = renderObjects({ spec, secrets, key: undefined, target, now }).filter((o) =>
      o.key.includes('.env'),
    );
    expect(env!.body).not.toContain('AWS_ACCESS_KEY_ID');
  });
});

describe('the decoy user policy', () => {
  it('denies everything without MFA (an access key never has MFA) and allows nothing', () => {
    const policy = JSON.parse(userPolicyDocument());
    expect(policy.Statement).toHaveLength(1);
    const [statement] = policy.Statement;
    expect(statement.Effect).toBe('Deny');
    expect(statement.Resource).toBe('*');
    expect(statement.Condition).toEqual({ BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } });
    // Only MFA self-service is left out of the deny, and no statement allows it.
    for (const action of statement.NotAction)
      expect(action).toMatch(/^(iam:\w*MFA\w*|iam:GetUser|sts:GetSessionToken)$/);
    expect(policy.Statement.some((s: { Effect: string }) => s.Effect === 'Allow')).toBe(false);
  });
});

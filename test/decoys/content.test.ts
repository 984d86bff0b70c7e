import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  bucketTags,
  DECOY_WRITER,
  FORMAT_PATTERNS,
  generateSecrets,
  LEGACY_USER_POLICY_NAME,
  type RenderInput,
  renderObjects,
  resourceTags,
  secretDescription,
  sesSmtpPasswordV4,
  type UserPolicyInput,
  userPolicyDocument,
  userPolicyInputOf,
  userPolicyName,
} from '../../layers/decoys/content';
import { nightlyDumpKey } from '../../layers/decoys/dump';
import { seededRandom, withoutTells } from '../../layers/decoys/random';
import { specParts } from '../../layers/decoys/spec';
import { tellsIn } from '../../layers/stealth/tells';
import { ACCOUNT, makeSpec, REGION } from './fixtures';

const target = { account: ACCOUNT, region: REGION, partition: 'aws' };
const key = {
  accessKeyId: 'AKIAZ7Q4M2XW8LBHT3RN',
  secretAccessKey: 'k3Jd8Qn2Wm5Zr7Tb1Yc4Vh6Xp9Ls0Af2Ge5Ui8O',
};
const now = new Date(Date.UTC(2025, 2, 14, 3, 0, 0));
const DAY = 86_400_000;

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
  const createdAt = new Date(now.getTime() - 40 * DAY);
  const render = (input: Partial<RenderInput> = {}) =>
    new Map(
      renderObjects({ spec, secrets, key, target, now, createdAt, ...input }).map((o) => [o.key, o.body]),
    );
  const objects = render();
  const keyOf = (kind: string) => parts.objects.find((o) => o.objectKind === kind)!.name;
  const bodyOf = (kind: string) => objects.get(keyOf(kind))!;

  it('renders one object per planned key', () => {
    expect([...objects.keys()].sort()).toEqual(parts.objects.map((o) => o.name).sort());
  });

  it('no object carries a tell, example.com or a hint that names the parameters in prose', () => {
    for (const [objectKey, body] of objects) {
      const lines = body.split('\n').filter((line) => !/^ {2}"lineage": /.test(line));
      expect(lines.flatMap((line) => tellsIn(line, objectKey))).toEqual([]);
      expect(body).not.toMatch(/example\.(com|org|net)/);
      expect(body).not.toMatch(/password in|SSM |Restore:|Credentials:/);
    }
  });

  describe('the .env', () => {
    const env = bodyOf('env-file');
    const vars = new Map(
      env
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );

    it('holds the access key, the database URL and every parameter name', () => {
      expect(vars.get('AWS_ACCESS_KEY_ID')).toBe(key.accessKeyId);
      expect(vars.get('AWS_SECRET_ACCESS_KEY')).toBe(key.secretAccessKey);
      for (const p of parts.parameters) expect(env).toContain(`=${p.name}\n`);
      expect(vars.get('BACKUP_BUCKET')).toBe(parts.bucket!.name);
    });

    it('agrees with itself and with the database secret: one environment, one region, one database', () => {
      const db = secrets.database;
      const url = new URL(vars.get('DATABASE_URL')!);
      expect(url.hostname).toBe(db.host);
      expect(url.username).toBe(db.user);
      expect(url.password).toBe(db.password);
      expect(url.pathname).toBe(`/${db.name}`);
      expect(Number(url.port)).toBe(db.port);
      const urlParameter = parts.parameters.find((p) => p.format === 'database-url')!;
      if (!urlParameter.name.includes('replica'))
        expect(url.href).toBe(secrets.values.get(urlParameter.name));
      expect(vars.get('APP_ENV')).toBe(spec.environment);
      expect(vars.get('AWS_REGION')).toBe(target.region);
      // Every region and environment the file mentions is the one it runs in.
      const regions = env.match(/\b(us|eu|ap|ca|sa|me|af|il|mx)-(north|south|east|west|central)[a-z]*-\d\b/g);
      expect(new Set(regions)).toEqual(new Set([target.region]));
      for (const p of parts.parameters) expect(p.name.startsWith(`/${spec.environment}/`)).toBe(true);
      expect(env).not.toMatch(/\b(staging|development|dev|test)\b/);
      // Each variable is set once.
      const names = env
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => line.split('=')[0]);
      expect(new Set(names).size).toBe(names.length);
    });

    it('names the Secrets Manager secrets the app reads: the database credentials and each API key', () => {
      const [database, apiKey] = [
        parts.secrets.find((x) => x.secretFormat === 'database-credentials')!,
        parts.secrets.find((x) => x.secretFormat === 'api-key')!,
      ];
      expect(vars.get('DATABASE_SECRET_ID')).toBe(database.name);
      const apiKeyVar = [...vars].find(([, value]) => value === apiKey.name)?.[0];
      expect(apiKeyVar).toMatch(/^[A-Z0-9_]+_SECRET_ID$/);
      expect(apiKeyVar).toContain(
        apiKey.name
          .split('/')
          .pop()!
          .replace(/[^A-Za-z0-9]+/g, '_')
          .toUpperCase(),
      );
      // Without secrets, no such line.
      const without = makeSpec({ decoys: { secrets: { enabled: false } } });
      const plain = renderObjects({
        spec: without,
        secrets: generateSecrets(without, seededRandom('bait'), target),
        key,
        target,
        now,
        createdAt,
      }).find((o) => o.body.startsWith('APP_NAME='))!;
      expect(plain.body).not.toContain('_SECRET_ID=');
    });

    it('has no credentials without a key', () => {
      expect(render({ key: undefined }).get(keyOf('env-file'))).not.toContain('AWS_ACCESS_KEY_ID');
    });
  });

  describe('the database dump', () => {
    const dump = bodyOf('database-dump');

    /** COPY blocks: table, columns, rows. */
    function copyBlocks(text: string): { table: string; columns: string[]; rows: string[][] }[] {
      const blocks: { table: string; columns: string[]; rows: string[][] }[] = [];
      const pattern = /^COPY public\.(\w+) \(([^)]*)\) FROM stdin;\n([\s\S]*?)^\\\.$/gm;
      for (const match of text.matchAll(pattern)) {
        const body = match[3]!;
        blocks.push({
          table: match[1]!,
          columns: match[2]!.split(', '),
          rows: body
            ? body
                .replace(/\n$/, '')
                .split('\n')
                .map((line) => line.split('\t'))
            : [],
        });
      }
      return blocks;
    }

    it("is a pg_dump plain-format file: the tool's preamble, object blocks and trailer", () => {
      expect(dump).toMatch(
        /^--\n-- PostgreSQL database dump\n--\n\n(\\restrict [A-Za-z0-9]{63}\n\n)?-- Dumped from database version 16\.\d+\n-- Dumped by pg_dump version 16\.\d+\n\nSET statement_timeout = 0;\nSET lock_timeout = 0;\nSET idle_in_transaction_session_timeout = 0;\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\nSELECT pg_catalog\.set_config\('search_path', '', false\);\n/,
      );
      // Before August 2025 pg_dump wrote no \restrict line.
      expect(dump).not.toContain('\\restrict');
      expect(dump.endsWith('\n--\n-- PostgreSQL database dump complete\n--\n\n')).toBe(true);
      // pg_dump 16.10 and later fence the script with one random key.
      const recent = render({ now: new Date(Date.UTC(2025, 10, 20, 2, 0)) }).get(keyOf('database-dump'))!;
      expect(recent).toMatch(/^-- Dumped by pg_dump version 16\.1\d$/m);
      const restrict = /^\\restrict ([A-Za-z0-9]{63})$/m.exec(recent)?.[1];
      expect(restrict).toBeDefined();
      expect(
        recent.endsWith(`--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict ${restrict}\n\n`),
      ).toBe(true);
      for (const table of ['customers', 'orders', 'payments']) {
        expect(dump).toContain(`\nCREATE TABLE public.${table} (\n`);
        expect(dump).toContain(`\nALTER TABLE public.${table} OWNER TO ${secrets.database.user};\n`);
        expect(dump).toContain(`\nCREATE SEQUENCE public.${table}_id_seq\n`);
        expect(dump).toContain(`ADD CONSTRAINT ${table}_pkey PRIMARY KEY (id);`);
      }
      // Every object block has pg_dump's header.
      for (const header of dump.match(/^-- Name: .*$/gm)!)
        expect(header).toMatch(
          /^-- Name: [\w ]+; Type: (TABLE|SEQUENCE|SEQUENCE OWNED BY|DEFAULT|SEQUENCE SET|CONSTRAINT|INDEX|FK CONSTRAINT); Schema: public; Owner: \w+$/,
        );
      // Only the comments pg_dump writes.
      const comments = dump.split('\n').filter((line) => line.startsWith('--'));
      for (const comment of comments)
        expect(comment).toMatch(
          /^(--|-- PostgreSQL database dump( complete)?|-- Dumped (from database|by pg_dump) version [\d.]+|-- (Data for )?Name: .*)$/,
        );
    });

    it('terminates every COPY block, with as many fields per row as columns', () => {
      const blocks = copyBlocks(dump);
      expect(blocks.map((b) => b.table)).toEqual([
        'customers',
        'knex_migrations',
        'knex_migrations_lock',
        'orders',
        'payments',
      ]);
      expect(dump.match(/ FROM stdin;\n/g)).toHaveLength(blocks.length);
      for (const block of blocks) {
        for (const row of block.rows) expect(row).toHaveLength(block.columns.length);
      }
      // Each sequence is set at or past its table's highest id.
      for (const block of blocks.filter((b) => b.columns[0] === 'id')) {
        const last = Math.max(...block.rows.map((row) => Number(row[0])));
        const set = new RegExp(`setval\\('public\\.${block.table}_id_seq', (\\d+), true\\)`).exec(dump);
        expect(Number(set![1])).toBeGreaterThanOrEqual(last);
      }
    });

    it('is megabytes of varied rows: sequence ids with gaps, many names and domains, years of history', () => {
      expect(dump.length).toBeGreaterThan(2_000_000);
      expect(dump.length).toBeLessThan(6_500_000);
      const [customers, , , orders, payments] = copyBlocks(dump);
      expect(customers!.rows.length).toBeGreaterThan(2_000);
      const ids = customers!.rows.map((row) => Number(row[0]));
      const steps = new Set(ids.slice(1).map((id, i) => id - ids[i]!));
      expect([...steps].every((step) => step >= 1)).toBe(true);
      expect(steps.size).toBeGreaterThan(2);
      const emails = customers!.rows.map((row) => row[1]!);
      expect(new Set(emails).size).toBe(emails.length);
      const domains = new Set(emails.map((email) => email.split('@')[1]));
      expect(domains.size).toBeGreaterThan(20);
      expect(domains.has('gmail.com')).toBe(true);
      expect(new Set(customers!.rows.map((row) => row[2]!.split(' ')[0])).size).toBeGreaterThan(60);
      const amounts = orders!.rows.map((row) => Number(row[6]));
      expect(new Set(amounts).size).toBeGreaterThan(amounts.length / 3);
      expect(new Set(orders!.rows.map((row) => row[2])).size).toBeGreaterThanOrEqual(4);
      const created = customers!.rows.map((row) =>
        Date.parse(`${row[6]!.replace(' ', 'T').replace('+00', 'Z')}`),
      );
      expect(now.getTime() - created[0]!).toBeGreaterThan(2 * 365 * DAY);
      expect(now.getTime() - created[created.length - 1]!).toBeLessThan(3 * DAY);
      expect(created.every((t) => t <= now.getTime())).toBe(true);
      expect(payments!.rows.some((row) => /^pi_3[A-Za-z0-9]{23}$/.test(row[3]!))).toBe(true);
    });

    it('tells no more than the data: no parameter names, no hints, no UUIDs', () => {
      for (const p of parts.parameters) expect(dump).not.toContain(p.name);
      expect(dump).not.toContain(secrets.database.password);
      expect(dump).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/i);
    });

    it('agrees with the night before: the same rows, a few updated, a few new', () => {
      const before = render({ now: new Date(now.getTime() - DAY) }).get(keyOf('database-dump'))!;
      const [customersBefore] = copyBlocks(before);
      const [customersNow] = copyBlocks(dump);
      const byId = new Map(customersNow!.rows.map((row) => [row[0], row]));
      for (const row of customersBefore!.rows) {
        // Id, email, name, country, phone and signup never change.
        expect(byId.get(row[0])?.slice(0, 7)).toEqual(row.slice(0, 7));
      }
      const added = customersNow!.rows.length - customersBefore!.rows.length;
      expect(added).toBeGreaterThan(0);
      expect(added).toBeLessThan(100);
    });

    it('is a different database for another plant', () => {
      const other = render({ createdAt: new Date(createdAt.getTime() + 1) }).get(keyOf('database-dump'))!;
      expect(copyBlocks(other)[0]!.rows[0]).not.toEqual(copyBlocks(dump)[0]!.rows[0]);
    });

    it('has a nightly key that reads as a backup prefix when listed over the nights', () => {
      const keys = [0, 1, 2].map((day) =>
        nightlyDumpKey('payments', 'prod', 'payments', new Date(now.getTime() + day * DAY)),
      );
      expect(keys).toEqual([
        'db/payments-prod/2025/03/14/payments_20250314T0300Z.sql',
        'db/payments-prod/2025/03/15/payments_20250315T0300Z.sql',
        'db/payments-prod/2025/03/16/payments_20250316T0300Z.sql',
      ]);
    });

    it('is a mysqldump for a MySQL database', () => {
      const mysql = makeSpec({
        decoys: { ssm: { parameters: [{ name: '/prod/orders/mysql-root-password', format: 'password' }] } },
      });
      const s = generateSecrets(mysql, seededRandom('m'), target);
      const [body] = renderObjects({ spec: mysql, secrets: s, key, target, now })
        .filter((o) => o.key.endsWith('.sql'))
        .map((o) => o.body);
      expect(s.database.port).toBe(3306);
      expect(body).toMatch(
        new RegExp(
          `^-- MySQL dump 10\\.13  Distrib 8\\.0\\.\\d+, for Linux \\(x86_64\\)\\n--\\n-- Host: ${s.database.host.replace(/\./g, '\\.')}    Database: ${s.database.name}\\n`,
        ),
      );
      expect(body).toMatch(/\n-- Dump completed on \d{4}-\d\d-\d\d [ \d]\d:\d\d:\d\d\n$/);
      for (const table of ['customers', 'orders', 'payments']) {
        expect(body).toContain(`LOCK TABLES \`${table}\` WRITE;`);
        expect(body).toMatch(new RegExp(`INSERT INTO \`${table}\` VALUES \\(`));
      }
      expect(body).not.toContain('/prod/orders/mysql-root-password');
      expect(body!.length).toBeGreaterThan(1_500_000);
    });
  });

  describe('the terraform state', () => {
    const state = JSON.parse(bodyOf('terraform-state'));
    const byType = (s: typeof state, type: string) =>
      s.resources.filter((r: { type: string }) => r.type === type);

    it('lists each created secret with its full ARN, name, description, key and tags; none before it exists', () => {
      const secretArns = new Map(parts.secrets.map((x, i) => [x.name, `${x.arn}-Ab${i}dEf`]));
      const withSecrets = JSON.parse(render({ secretArns }).get(keyOf('terraform-state'))!);
      const listed = byType(withSecrets, 'aws_secretsmanager_secret');
      expect(listed).toHaveLength(parts.secrets.length);
      const parameterKey = byType(withSecrets, 'aws_ssm_parameter')[0].instances[0].attributes.key_id;
      for (const secret of parts.secrets) {
        const attributes = listed.find(
          (r: { instances: { attributes: { name: string } }[] }) =>
            r.instances[0]!.attributes.name === secret.name,
        ).instances[0].attributes;
        expect(attributes).toMatchObject({
          arn: secretArns.get(secret.name),
          id: secretArns.get(secret.name),
          description: secretDescription(secret, spec.service),
          kms_key_id: parameterKey,
          recovery_window_in_days: 30,
        });
        expect(attributes.tags).toEqual(
          byType(withSecrets, 'aws_ssm_parameter')[0].instances[0].attributes.tags,
        );
      }
      // No version resource: its id is a UUID, and rotation writes versions outside terraform.
      expect(byType(withSecrets, 'aws_secretsmanager_secret_version')).toEqual([]);
      expect(byType(state, 'aws_secretsmanager_secret')).toEqual([]);
    });

    it('is terraform state v4 with a UUID v4 lineage, fixed for the plant', () => {
      expect(state).toMatchObject({
        version: 4,
        terraform_version: expect.stringMatching(/^1\.[5-9]\.\d+$/),
        check_results: null,
      });
      expect(Object.keys(state)).toEqual([
        'version',
        'terraform_version',
        'serial',
        'lineage',
        'outputs',
        'resources',
        'check_results',
      ]);
      expect(state.lineage).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const later = JSON.parse(
        render({ now: new Date(now.getTime() + 3 * DAY) }).get(keyOf('terraform-state'))!,
      );
      expect(later.lineage).toBe(state.lineage);
      expect(later.terraform_version).toBe(state.terraform_version);
      const otherPlant = JSON.parse(
        render({ createdAt: new Date(createdAt.getTime() + 1) }).get(keyOf('terraform-state'))!,
      );
      expect(otherPlant.lineage).not.toBe(state.lineage);
      // With the registry's secret seed, the seed alone decides it.
      const seeded = (secretSeed: string, at: Date) =>
        JSON.parse(render({ secretSeed, createdAt: at }).get(keyOf('terraform-state'))!).lineage;
      expect(seeded('a', createdAt)).toBe(seeded('a', new Date(createdAt.getTime() + 1)));
      expect(seeded('a', createdAt)).not.toBe(seeded('b', createdAt));
    });

    it('names the parameters with their values and versions; the serial moves with the versions', () => {
      const versions = new Map(parts.parameters.map((p, i) => [p.name, 5 + (i % 2)]));
      const rotated = JSON.parse(render({ parameterVersions: versions }).get(keyOf('terraform-state'))!);
      const params = byType(rotated, 'aws_ssm_parameter');
      expect(
        params
          .map((r: { instances: [{ attributes: { name: string } }] }) => r.instances[0].attributes.name)
          .sort(),
      ).toEqual(parts.parameters.map((p) => p.name).sort());
      for (const r of params) {
        const attributes = r.instances[0].attributes;
        expect(attributes.value).toBe(secrets.values.get(attributes.name));
        expect(attributes.version).toBe(versions.get(attributes.name));
        expect(attributes.type).toBe('SecureString');
        expect(r.provider).toBe('provider["registry.terraform.io/hashicorp/aws"]');
        expect(r.instances[0].sensitive_attributes).toEqual([[{ type: 'get_attr', value: 'value' }]]);
      }
      // One apply per rotation: five versions later, five serials later.
      expect(rotated.serial - state.serial).toBe(5);
      for (const r of byType(state, 'aws_ssm_parameter')) expect(r.instances[0].attributes.version).toBe(1);
    });

    it('holds the user, its policy and the same access key as the .env, not the bucket it lives in', () => {
      expect(byType(state, 'aws_iam_user')[0].instances[0].attributes).toMatchObject({
        name: parts.user!.name,
        path: '/',
        arn: parts.user!.arn,
      });
      const policy = byType(state, 'aws_iam_user_policy')[0].instances[0].attributes;
      // The same document and name the planter attaches.
      const attached = userPolicyInputOf(spec, target);
      expect(policy).toMatchObject({
        user: parts.user!.name,
        name: userPolicyName(attached),
        policy: userPolicyDocument(attached),
      });
      const accessKey = byType(state, 'aws_iam_access_key')[0].instances[0];
      expect(accessKey.attributes).toMatchObject({
        id: key.accessKeyId,
        secret: key.secretAccessKey,
        status: 'Active',
        user: parts.user!.name,
        ses_smtp_password_v4: sesSmtpPasswordV4(key.secretAccessKey, target.region),
      });
      expect(accessKey.attributes.create_date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(accessKey.dependencies).toEqual([`aws_iam_user.${byType(state, 'aws_iam_user')[0].name}`]);
      expect(state.outputs.access_key_id).toEqual({ value: key.accessKeyId, type: 'string' });
      expect(state.outputs.secret_access_key).toMatchObject({ sensitive: true, value: key.secretAccessKey });
      expect(state.resources.some((r: { type: string }) => r.type.startsWith('aws_s3_bucket'))).toBe(false);
      // The bucket is named only by the user's policy (what the user reads), never as a resource.
      const withoutPolicy = JSON.stringify({
        ...state,
        resources: state.resources.filter((r: { type: string }) => r.type !== 'aws_iam_user_policy'),
      });
      expect(withoutPolicy).not.toContain(parts.bucket!.name);
    });

    it('is laid out as terraform writes it: resources sorted, names unique, tags sorted', () => {
      const addresses = state.resources.map((r: { type: string; name: string }) => `${r.type}.${r.name}`);
      expect(new Set(addresses).size).toBe(addresses.length);
      expect(addresses).toEqual([...addresses].sort());
      const tags = byType(state, 'aws_ssm_parameter')[0].instances[0].attributes.tags;
      expect(Object.keys(tags)).toEqual(Object.keys(tags).sort());
      expect(Object.keys(state.outputs)).toEqual(Object.keys(state.outputs).sort());
      expect(bodyOf('terraform-state').endsWith('}\n')).toBe(true);
    });
  });
});

describe('the decoy user policy', () => {
  const spec = makeSpec();
  const parts = specParts(spec);
  const input = userPolicyInputOf(spec, target);
  const policy = JSON.parse(userPolicyDocument(input));
  type Statement = { Sid: string; Effect: string; Action: string | string[]; Resource: string | string[] };
  const statements = policy.Statement as Statement[];
  const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

  it("reads like a service user's: its bucket's objects, its parameters, their key through SSM", () => {
    const bucket = `arn:aws:s3:::${parts.bucket!.name}`;
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    const grants = statements.flatMap((s) =>
      list(s.Action).flatMap((a) => list(s.Resource).map((r) => `${a} ${r}`)),
    );
    const kmsResource = `arn:aws:kms:${REGION}:${ACCOUNT}:key/*`;
    expect(grants.sort()).toEqual(
      [
        `s3:ListBucket ${bucket}`,
        `s3:GetBucketLocation ${bucket}`,
        `s3:GetObject ${bucket}/*`,
        ...parts.parameters.flatMap((p) => [`ssm:GetParameter ${p.arn}`, `ssm:GetParameters ${p.arn}`]),
        `kms:Decrypt ${kmsResource}`,
      ].sort(),
    );
    const decrypt = statements.find((s) => s.Action === 'kms:Decrypt') as Statement & { Condition: unknown };
    expect(decrypt.Condition).toEqual({
      StringEquals: { 'kms:ViaService': `ssm.${REGION}.amazonaws.com` },
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': parts.keyAlias },
    });
  });

  it('grants nothing beyond the planted resources: no wildcard action, no path read, no write', () => {
    for (const statement of statements) {
      for (const action of list(statement.Action)) {
        expect(action).not.toContain('*');
        expect(action).toMatch(/^(s3:(Get|List)|ssm:GetParameters?$|kms:Decrypt$)/);
      }
      for (const resource of list(statement.Resource)) expect(resource).not.toBe('*');
    }
    // AWS authorizes GetParametersByPath on the path, and a path may hold real parameters.
    expect(JSON.stringify(policy)).not.toContain('GetParametersByPath');
  });

  it('takes a key ARN when the planter has one', () => {
    const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d`;
    const withArn: UserPolicyInput = { ...input, key: { arn: keyArn } };
    const decrypt = (JSON.parse(userPolicyDocument(withArn)).Statement as Statement[]).find(
      (s) => s.Action === 'kms:Decrypt',
    ) as Statement & { Condition: unknown };
    expect(decrypt.Resource).toBe(keyArn);
    expect(decrypt.Condition).toEqual({ StringEquals: { 'kms:ViaService': `ssm.${REGION}.amazonaws.com` } });
  });

  it('is named as a team names one, after the service and the bucket', () => {
    expect(userPolicyName({ service: 'payments', bucketName: 'payments-prod-db-backups' })).toBe(
      'payments-backup-read',
    );
    expect(userPolicyName({ service: 'orders', bucketName: 'orders-prod-exports' })).toBe(
      'orders-exports-read',
    );
    expect(userPolicyName({ service: 'ledger' })).toBe('ledger-app-read');
    expect(userPolicyName(input)).not.toBe(LEGACY_USER_POLICY_NAME);
  });

  it('carries no tell and no UUID-shaped string', () => {
    const text = `${userPolicyName(input)} ${userPolicyDocument(input)}`;
    expect(tellsIn(text, 'user policy')).toEqual([]);
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
  });

  it('without an input (callers not yet passing one) is the legacy force-MFA deny', () => {
    const legacy = JSON.parse(userPolicyDocument());
    expect(legacy.Statement).toHaveLength(1);
    expect(legacy.Statement[0]).toMatchObject({
      Effect: 'Deny',
      Resource: '*',
      Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
    });
  });
});

describe('tags', () => {
  const spec = makeSpec();
  const asMap = (tags: { key: string; value: string }[]) =>
    Object.fromEntries(tags.map((t) => [t.key, t.value]));

  it('name the writer, the function that rotates the values, not a tool that never wrote them', () => {
    expect(asMap(resourceTags(spec))).toEqual({
      service: spec.service,
      environment: spec.environment,
      'managed-by': DECOY_WRITER,
    });
    expect(JSON.stringify(resourceTags(spec))).not.toMatch(/terraform/i);
    expect(asMap(bucketTags(spec))).toMatchObject({
      'managed-by': DECOY_WRITER,
      'data-classification': 'confidential',
    });
  });

  it("are spelled after the account's own tag keys when known; the ownership key stays exact", () => {
    const conventions = { keys: ['Owner', 'App', 'Env', 'CostCenter', 'Classification'] };
    expect(asMap(resourceTags(spec, conventions))).toEqual({
      App: spec.service,
      Env: spec.environment,
      'managed-by': DECOY_WRITER,
    });
    expect(Object.keys(asMap(bucketTags(spec, conventions)))).toContain('Classification');
  });

  it('carry no tell', () => {
    for (const tag of [...resourceTags(spec), ...bucketTags(spec)])
      expect(tellsIn(`${tag.key}=${tag.value}`, 'tag')).toEqual([]);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { GetPolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { QUARANTINE_POLICY_NAME } from '../../../layers/response/policy';
import { EMULATOR_VARIABLE, emulator } from '../emulator';

/**
 * Global setup of the live suite. With HONEYTRAIL_EMULATOR=moto and no
 * AWS_ENDPOINT_URL, it starts `python3 -m moto.server` on a free loopback port,
 * points the SDK's standard settings at it (endpoint, us-east-1, dummy
 * credentials) and stops it at teardown, failed tests or not. With an
 * AWS_ENDPOINT_URL it configures that running moto instead. Without the
 * variable it does nothing: the suite uses the account the settings point at.
 * MOTO_PID_FILE, if set, receives the pid of the moto it starts.
 *
 * moto is configured to do what the suite checks: execute state machines (so
 * Step Functions rejects a task token that is not one, InvalidToken, as AWS does)
 * and know the AWS-managed policies (the quarantine policy the response attaches).
 */

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
/** moto's settings for the suite (its /moto-api/config). */
const MOTO_CONFIG = {
  iam: { load_aws_managed_policies: true },
  stepfunctions: { execute_state_machine: true },
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitUntilServing(endpoint: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (server.exitCode !== null)
      throw new Error(`[live] moto exited with code ${server.exitCode} before serving:\n${log()}`);
    try {
      const answer = await fetch(`${endpoint}/moto-api/config`);
      if (answer.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline)
      throw new Error(`[live] moto did not serve ${endpoint} within ${START_TIMEOUT_MS / 1000} s:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function configure(endpoint: string): Promise<void> {
  const answer = await fetch(`${endpoint}/moto-api/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(MOTO_CONFIG),
  });
  if (!answer.ok)
    throw new Error(`[live] ${endpoint} refused moto's /moto-api/config (${answer.status}): is it moto?`);
  // Managed policies load when moto first creates an account's IAM: too late on a moto already used.
  const iam = new IAMClient({
    endpoint,
    region: 'us-east-1',
    // moto takes any key; a dummy one keeps this check off the caller's own credentials.
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  try {
    await iam.send(new GetPolicyCommand({ PolicyArn: `arn:aws:iam::aws:policy/${QUARANTINE_POLICY_NAME}` }));
  } catch (error) {
    throw new Error(
      `[live] moto at ${endpoint} does not know ${QUARANTINE_POLICY_NAME} (${(error as Error).name}): ` +
        'start it with MOTO_IAM_LOAD_MANAGED_POLICIES=true, or leave AWS_ENDPOINT_URL unset to let the suite start one',
    );
  } finally {
    iam.destroy();
  }
}

async function stop(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = once(server, 'exit');
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (!emulator()) return undefined;
  const given = process.env.AWS_ENDPOINT_URL;
  if (given) {
    await configure(given);
    console.warn(`[live] ${EMULATOR_VARIABLE}=moto: using the moto at ${given}`);
    return undefined;
  }

  const port = await freePort();
  const endpoint = `http://${HOST}:${port}`;
  const server = spawn('python3', ['-m', 'moto.server', '-H', HOST, '-p', String(port)], {
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // moto logs every request on stderr: keep the tail for a failure message, drop the rest.
  let tail = '';
  server.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  });
  server.once('error', (error) => {
    tail += `\n${error.message} (is python3 with moto installed?)`;
  });
  // Should vitest exit without its teardown, moto goes with it; should it be killed outright,
  // the caller can (CI does) stop the process named in MOTO_PID_FILE.
  const killOnExit = () => server.kill('SIGKILL');
  process.once('exit', killOnExit);
  if (process.env.MOTO_PID_FILE && server.pid) writeFileSync(process.env.MOTO_PID_FILE, `${server.pid}\n`);
  try {
    await waitUntilServing(endpoint, server, () => tail);
    await configure(endpoint);
  } catch (error) {
    await stop(server);
    throw error;
  }

  // The SDK's standard settings, inherited by the test workers started after this.
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_DEFAULT_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  console.warn(`[live] ${EMULATOR_VARIABLE}=moto: started moto at ${endpoint} (pid ${server.pid})`);

  return async () => {
    process.off('exit', killOnExit);
    await stop(server);
    if (process.env.MOTO_PID_FILE) writeFileSync(process.env.MOTO_PID_FILE, '');
    console.warn(`[live] stopped moto at ${endpoint}`);
  };
}

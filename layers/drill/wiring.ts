import { z } from 'zod';
import { touchHandler } from '../../functions/touch/touch-handler';
import type { KnownDecoy } from '../detection/rules';
import type { TouchStore } from '../detection/store';
import { TOUCH_SETTINGS_ENVIRONMENT, touchSettingsFromEnvironment } from '../detection/touch-environment';
import type { FindingSink } from '../findings/publish';
import type { AuditStore } from '../response/audit';
import type { AutomationBudgetStore } from '../response/budget';
import { collectEvidence, type EvidenceWriter, type PrincipalReader } from '../response/evidence';
import type { IncidentStore } from '../response/incidents';
import { type Escalation, type Notifier, runLedger } from '../response/ledger';
import type { StepPlan } from '../response/plan';
import { decisionSchema, decodePolicy } from '../response/policy';
import type { ReceivedFindings } from '../response/received';
import { executionRefSchema } from '../response/state';
import { readEnvironment } from '../runtime/env';
import type { DeployedFunction, DeployedResponse } from './deployment';
import { type FunctionBinding, LocalWorkflow } from './local-workflow';
import { madeUpKeyId } from './play';
import type { RecordingServices } from './ports';

/**
 * The deployed functions' code, wired the way their handler.ts files wire it,
 * from the environment the template gives each function, with in-memory ports
 * in place of AWS clients. Only this wiring is the drill's own: what runs is the
 * touch handler's and the response layer's code.
 */

const silentLogger = { info: () => {}, warn: () => {}, error: () => {} };

/** functions/touch/handler.ts, over memory: settings from the deployed environment. */
export function wireTouchFunction(
  fn: DeployedFunction,
  deps: { decoys: readonly KnownDecoy[]; store: TouchStore; sink: FindingSink; now: () => number },
) {
  return touchHandler({
    ...touchSettingsFromEnvironment(readEnvironment(TOUCH_SETTINGS_ENVIRONMENT, fn.environment)),
    // The registry: the plan, with the planted key's id.
    loadResources: async () => deps.decoys,
    store: deps.store,
    sink: deps.sink,
    now: deps.now,
    count: () => {},
    logger: silentLogger,
  });
}

export interface ResponsePorts {
  audit: AuditStore;
  notifier: Notifier;
  reader: PrincipalReader;
  evidence: EvidenceWriter;
  /** Direct AWS calls and the functions that would change something: recorded, never made. */
  services: RecordingServices;
  /** The planted IAM users, as the registry would list them. */
  reservedUsers: readonly string[];
  /** Where the intake keeps accepted findings: the same store the runner's intake writes. */
  received: ReceivedFindings;
  /** Incidents and the automation budget, as the state table keeps them. */
  incidents: IncidentStore;
  budget: AutomationBudgetStore;
  /** Escalations of waiting approvals (SendTaskSuccess): recorded. */
  escalation: Escalation;
}

const evidenceInputSchema = z.object({ decision: decisionSchema, execution: executionRefSchema });

/**
 * The synthesized state machine with its Lambda tasks bound to the code of
 * functions/respond-ledger and respond-evidence; key rotation and the planter's
 * refresh (reached only when dry-run is off) are recorded as actions.
 */
export function wireResponse(
  response: DeployedResponse,
  ports: ResponsePorts,
  now: () => Date,
  options: {
    /**
     * Organization drills: the control plane acts in the member account of the
     * principal (assuming the member role there), so the policy's own-account check
     * is lifted. Only when automation is enabled for every member of the drill.
     */
    actInMemberAccounts?: boolean;
  } = {},
): LocalWorkflow {
  const ledgerEnv = readEnvironment({ RECORDS_BUCKET: {}, RESPONSE_POLICY: {} }, response.ledger.environment);
  const deployed = decodePolicy(ledgerEnv.RESPONSE_POLICY);
  const { account: _ownAccount, ...anyAccount } = deployed;
  const policy = options.actInMemberAccounts ? anyAccount : deployed;
  const functions = new Map<string, FunctionBinding>();
  functions.set(
    response.ledger.arn,
    async (payload) =>
      (
        await runLedger(payload, {
          store: ports.audit,
          notifier: ports.notifier,
          policy,
          now,
          evidenceLocation: `s3://${ledgerEnv.RECORDS_BUCKET}`,
          reservedUsers: async () => ports.reservedUsers,
          findings: ports.received,
          incidents: ports.incidents,
          budget: ports.budget,
          escalation: ports.escalation,
        })
      ).result,
  );
  functions.set(response.evidence.arn, async (payload) => {
    const parsed = evidenceInputSchema.safeParse(payload);
    if (!parsed.success) throw new Error(`evidence input is malformed: ${parsed.error.message}`);
    return collectEvidence(parsed.data.decision, parsed.data.execution, {
      reader: ports.reader,
      writer: ports.evidence,
      now,
    });
  });
  functions.set(response.rotation.arn, async (payload) => {
    const { op, plan } = payload as { op?: string; plan?: StepPlan };
    await ports.services.call('lambda', op === 'rotate' ? 'rotateAccessKey' : 'cleanupNewKeys', payload);
    return op === 'rotate'
      ? {
          newAccessKeyId: madeUpKeyId('AKIA', `${plan?.userName}:rotated`),
          storedIn: plan?.keyStoreName ?? '',
        }
      : { deleted: [] };
  });
  if (response.planter) {
    functions.set(response.planter.arn, async (payload) => {
      await ports.services.call('lambda', 'refreshPlantedResources', payload);
      return { ok: true };
    });
  }
  return new LocalWorkflow(response.stateMachine.definition, {
    functions,
    sdk: (service, action, parameters) => ports.services.call(service, action, parameters),
  });
}

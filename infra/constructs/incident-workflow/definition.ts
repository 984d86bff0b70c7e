import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { HoneytrailConfig } from '../../../layers/config/schema';
import type { LedgerOp } from '../../../layers/response/ledger';
import { REVOKE_POLICY_NAME } from '../../../layers/response/policy';
import type { HouseFunction } from '../house-function';
import { iamResourceArn, type Kind } from './protected-principals';

/** Throttling and transient service errors, as Step Functions names them for aws-sdk integrations. */
const IAM_TRANSIENT = [
  'Iam.ThrottlingException',
  'Iam.Throttling',
  'Iam.ServiceFailureException',
  'Iam.ConcurrentModificationException',
];
/** Errors a Lambda raises when an AWS call it made was throttled (the SDK's error names). */
const LAMBDA_TRANSIENT = [
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'SlowDown',
  'ServiceUnavailable',
  'RequestLimitExceeded',
  'Lambda.TooManyRequestsException',
];

export interface DefinitionProps {
  config: HoneytrailConfig;
  ledger: HouseFunction;
  evidence: HouseFunction;
  rotation: HouseFunction;
  plantFunction?: HouseFunction;
  stateMachineName: string;
}

const KIND_NAME = { user: 'User', role: 'Role' } as const;
const NAME_PARAMETER = { user: 'UserName', role: 'RoleName' } as const;
const NAME_PATH = { user: '$.evidence.plan.userName', role: '$.evidence.plan.roleName' } as const;

/**
 * The state machine's definition (JSONPath). Each action is recorded by the
 * ledger before and after it; every failure is caught and rolls back through
 * the undo chain; revert runs the same undo chain from an execution's audit
 * records. State names are deployed: they say what happens in plain words.
 */
export class WorkflowDefinition extends Construct {
  readonly start: sfn.IChainable;
  readonly invokedFunctions: HouseFunction[];
  /** The IAM calls made directly (aws-sdk integrations), for the Deny statements and the nag notes. */
  readonly iamActions = new Set<string>();
  /** Every execution of this state machine (revert stops the one it reverts). */
  readonly executionsArn: string;
  private readonly props: DefinitionProps;
  /** The workflow construct: states are its children, so their ids are the state names. */
  private readonly s: Construct;
  private collecting: tasks.CallAwsService[] | undefined;

  constructor(scope: Construct, id: string, props: DefinitionProps) {
    super(scope, id);
    this.props = props;
    this.s = scope;
    const s = scope;
    this.executionsArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${props.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const response = props.config.response;
    this.invokedFunctions = [
      props.ledger,
      props.evidence,
      props.rotation,
      ...(props.plantFunction ? [props.plantFunction] : []),
    ];

    // ---- the undo chain: rollback, auto-revert and revert share it ----
    const rolledBack = this.ledgerTask('RolledBack', 'rolled-back');
    const reverted = this.ledgerTask('Reverted', 'reverted');
    const rollbackFailed = new sfn.Fail(s, 'ResponseRolledBack', {
      error: 'ResponseRolledBack',
      cause: 'a step failed; what was done before it has been undone',
    });
    const revertDone = new sfn.Succeed(s, 'RevertDone');
    rolledBack.addCatch(rollbackFailed, { resultPath: '$.recordError' }).next(rollbackFailed);
    reverted.addCatch(revertDone, { resultPath: '$.recordError' }).next(revertDone);
    const undoFinished = new sfn.Choice(s, 'UndoFinished')
      .when(sfn.Condition.stringEquals('$.undoReason', 'rollback'), rolledBack)
      .otherwise(reverted);

    const undoFailedRecord = this.ledgerTask('UndoFailed', 'undo-failed', { step: 'undo' });
    const undoFailed = new sfn.Fail(s, 'UndoIncomplete', {
      error: 'UndoIncomplete',
      cause: 'an undo step failed; the notification lists what to check by hand',
    });
    undoFailedRecord.addCatch(undoFailed, { resultPath: '$.recordError' }).next(undoFailed);

    const reactivate = this.undoStep(
      'ReactivateKey',
      'reactivate-key',
      undoFinished,
      undoFailedRecord,
      (after) =>
        this.iamCall('ReactivateKeyCall', 'updateAccessKey', 'user', {
          UserName: sfn.JsonPath.stringAt('$.evidence.plan.userName'),
          AccessKeyId: sfn.JsonPath.stringAt('$.evidence.plan.accessKeyId'),
          Status: 'Active',
        }).next(after),
    );
    const ifReactivate = new sfn.Choice(s, 'IfUndoDeactivate')
      .when(sfn.Condition.isPresent('$.done.deactivateKey'), reactivate)
      .otherwise(undoFinished);

    const restoreSessions = this.undoStep(
      'RestoreSessions',
      'restore-sessions',
      ifReactivate,
      undoFailedRecord,
      (after) =>
        this.byKind('RestoreSessionsFor', (kind) => {
          const put = this.iamCall(
            `Restore${KIND_NAME[kind]}SessionsPolicy`,
            `put${KIND_NAME[kind]}Policy`,
            kind,
            {
              [NAME_PARAMETER[kind]]: sfn.JsonPath.stringAt(NAME_PATH[kind]),
              PolicyName: REVOKE_POLICY_NAME,
              PolicyDocument: sfn.JsonPath.stringAt('$.evidence.plan.previousRevokePolicy'),
            },
          ).next(after);
          const remove = this.iamCall(
            `Remove${KIND_NAME[kind]}SessionsPolicy`,
            `delete${KIND_NAME[kind]}Policy`,
            kind,
            {
              [NAME_PARAMETER[kind]]: sfn.JsonPath.stringAt(NAME_PATH[kind]),
              PolicyName: REVOKE_POLICY_NAME,
            },
          );
          // Already gone is what the undo wants.
          remove
            .addCatch(after, { errors: ['Iam.NoSuchEntityException'], resultPath: '$.undoNote' })
            .next(after);
          return new sfn.Choice(s, `IfPrevious${KIND_NAME[kind]}SessionsPolicy`)
            .when(sfn.Condition.booleanEquals('$.evidence.plan.hasPreviousRevokePolicy', true), put)
            .otherwise(remove);
        }),
    );
    const ifRestoreSessions = new sfn.Choice(s, 'IfUndoRevoke')
      .when(sfn.Condition.isPresent('$.done.revokeSessions'), restoreSessions)
      .otherwise(ifReactivate);

    const detach = this.undoStep(
      'DetachQuarantine',
      'detach-quarantine',
      ifRestoreSessions,
      undoFailedRecord,
      (after) =>
        this.byKind('DetachQuarantineFrom', (kind) => {
          const task = this.iamCall(
            `Detach${KIND_NAME[kind]}Quarantine`,
            `detach${KIND_NAME[kind]}Policy`,
            kind,
            {
              [NAME_PARAMETER[kind]]: sfn.JsonPath.stringAt(NAME_PATH[kind]),
              PolicyArn: sfn.JsonPath.stringAt('$.evidence.plan.quarantinePolicyArn'),
            },
          );
          task.addCatch(after, { errors: ['Iam.NoSuchEntityException'], resultPath: '$.undoNote' });
          return task.next(after);
        }),
    );
    const undoChain = new sfn.Choice(s, 'IfUndoQuarantine')
      .when(sfn.Condition.isPresent('$.done.attachQuarantine'), detach)
      .otherwise(ifRestoreSessions);

    const rollback = new sfn.Pass(s, 'Rollback', {
      result: sfn.Result.fromString('rollback'),
      resultPath: '$.undoReason',
    });
    rollback.next(undoChain);

    // ---- respond: decide, collect evidence, gate ----
    const finished = new sfn.Succeed(s, 'Finished');
    const decisionFailed = new sfn.Fail(s, 'DecisionFailed', {
      error: 'DecisionFailed',
      cause: 'the policy could not be evaluated or recorded; nothing was changed',
    });
    // The finding's id and digest only: the ledger reads the finding where the intake kept it.
    const init = new sfn.Pass(s, 'Init', {
      parameters: {
        mode: 'respond',
        'findingId.$': '$.findingId',
        'digest.$': '$.digest',
        'receivedAt.$': '$.receivedAt',
        done: {},
      },
    });
    const decide = this.ledgerTask('Decide', 'decide', { resultPath: '$.decision' });
    decide.addCatch(decisionFailed, { resultPath: '$.error' });

    const notifyOnly = this.ledgerTask('NotifyOnly', 'notify-only');
    notifyOnly.addCatch(finished, { resultPath: '$.recordError' }).next(finished);

    const collect = this.lambdaRetry(
      new tasks.LambdaInvoke(s, 'CollectEvidence', {
        lambdaFunction: props.evidence.function,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({
          decision: sfn.JsonPath.objectAt('$.decision'),
          execution: executionRef(),
        }),
        resultPath: '$.evidence',
      }),
    );
    collect.addCatch(this.failedRecord('FailedCollectEvidence', 'collect-evidence', rollback), {
      resultPath: '$.error',
    });
    const recordPlan = this.ledgerTask('RecordPlan', 'plan');
    recordPlan.addCatch(rollback, { resultPath: '$.error' });

    const dryRun = this.ledgerTask('DryRun', 'dry-run');
    dryRun.addCatch(finished, { resultPath: '$.recordError' }).next(finished);

    // ---- the actions ----
    const afterContained = this.afterContained(finished, undoChain);
    const contained = this.ledgerTask('Contained', 'contained');
    contained.addCatch(afterContained, { resultPath: '$.recordError' }).next(afterContained);

    const nothingToDo = this.ledgerTask('NothingToDo', 'finished', { step: 'nothing to do' });
    nothingToDo.addCatch(finished, { resultPath: '$.recordError' }).next(finished);
    const act = new sfn.Choice(s, 'Act')
      .when(
        sfn.Condition.stringEquals('$.evidence.plan.path', 'user-key'),
        this.userKeyChain(contained, rollback),
      )
      .when(
        sfn.Condition.stringEquals('$.evidence.plan.path', 'session'),
        this.sessionChain(contained, rollback),
      )
      .when(
        sfn.Condition.stringEquals('$.evidence.plan.path', 'refresh'),
        this.refreshChain(contained, finished),
      )
      .otherwise(nothingToDo);

    // ---- approval by task token: no answer before the timeout means no action ----
    const timedOut = this.ledgerTask('ApprovalTimedOut', 'approval-timed-out');
    timedOut.addCatch(finished, { resultPath: '$.recordError' }).next(finished);
    const denied = this.ledgerTask('ApprovalDenied', 'approval-denied');
    denied.addCatch(finished, { resultPath: '$.recordError' }).next(finished);
    const granted = this.ledgerTask('ApprovalGranted', 'approval-granted');
    granted.addCatch(rollback, { resultPath: '$.error' }).next(act);
    const requestApproval = this.lambdaRetry(
      new tasks.LambdaInvoke(s, 'RequestApproval', {
        lambdaFunction: props.ledger.function,
        integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: sfn.TaskInput.fromObject({
          op: 'request-approval',
          record: 'RequestApproval',
          token: sfn.JsonPath.taskToken,
          state: sfn.JsonPath.entirePayload,
          execution: executionRef(),
        }),
        taskTimeout: sfn.Timeout.duration(Duration.minutes(response.approvalTimeoutMinutes)),
        resultPath: '$.approval',
      }),
    );
    requestApproval.addCatch(timedOut, { errors: ['States.Timeout'], resultPath: '$.error' });
    requestApproval.addCatch(denied, { errors: ['ApprovalDenied'], resultPath: '$.error' });
    requestApproval.addCatch(this.failedRecord('FailedApproval', 'approval', finished), {
      resultPath: '$.error',
    });
    // An answer through the raw API without approved=true is a denial.
    requestApproval.next(
      new sfn.Choice(s, 'Approved')
        .when(sfn.Condition.booleanEquals('$.approval.approved', true), granted)
        .otherwise(denied),
    );

    const gate = new sfn.Choice(s, 'Gate')
      .when(sfn.Condition.stringEquals('$.decision.outcome', 'dry-run'), dryRun)
      .when(sfn.Condition.stringEquals('$.decision.outcome', 'approve'), requestApproval)
      .otherwise(act);
    const route = new sfn.Choice(s, 'Route')
      .when(sfn.Condition.stringEquals('$.decision.outcome', 'notify'), notifyOnly)
      .otherwise(collect);
    collect.next(recordPlan).next(gate);
    const respond = init.next(decide).next(route);

    // ---- revert: stop the original first (its grace wait must not delete the key later), plan from the audit, undo ----
    const stopOriginal = new tasks.CallAwsService(s, 'StopOriginal', {
      service: 'sfn',
      action: 'stopExecution',
      iamAction: 'states:StopExecution',
      iamResources: [this.executionsArn],
      parameters: { ExecutionArn: sfn.JsonPath.stringAt('$.revertOf'), Cause: 'reverted' },
      resultPath: sfn.JsonPath.DISCARD,
    });
    const planRevert = this.ledgerTask('PlanRevert', 'plan-revert', { resultPath: '$.revert' });
    const revertImpossible = new sfn.Fail(s, 'RevertNotPossible', {
      error: 'RevertNotPossible',
      cause: 'the audit records of that execution could not be read or name no response',
    });
    planRevert.addCatch(revertImpossible, { resultPath: '$.error' });
    stopOriginal.addRetry({
      errors: ['Sfn.ThrottlingException'],
      interval: Duration.seconds(2),
      maxAttempts: 4,
    });
    // An execution that already ended cannot be stopped: revert anyway.
    stopOriginal.addCatch(planRevert, { resultPath: '$.stopError' });
    const prepareRevert = new sfn.Pass(s, 'PrepareRevert', {
      parameters: { 'merged.$': 'States.JsonMerge($, $.revert, false)' },
      outputPath: '$.merged',
    });
    const markRevert = new sfn.Pass(s, 'MarkRevert', {
      result: sfn.Result.fromString('revert'),
      resultPath: '$.undoReason',
    });
    stopOriginal.next(planRevert).next(prepareRevert).next(markRevert).next(undoChain);

    this.start = new sfn.Choice(s, 'Mode')
      .when(sfn.Condition.stringEquals('$.mode', 'revert'), stopOriginal)
      .otherwise(respond);
  }

  /** A ledger call. The state's name names the record, so a retry writes nothing twice. */
  private ledgerTask(id: string, op: LedgerOp, options: { step?: string; resultPath?: string } = {}) {
    return this.lambdaRetry(
      new tasks.LambdaInvoke(this.s, id, {
        lambdaFunction: this.props.ledger.function,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({
          op,
          record: id,
          ...(options.step ? { step: options.step } : {}),
          state: sfn.JsonPath.entirePayload,
          execution: executionRef(),
        }),
        resultPath: options.resultPath ?? sfn.JsonPath.DISCARD,
      }),
    );
  }

  private lambdaRetry<T extends tasks.LambdaInvoke>(task: T): T {
    task.addRetry({
      errors: LAMBDA_TRANSIENT,
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 5,
      jitterStrategy: sfn.JitterType.FULL,
    });
    return task;
  }

  /** Records a failed step, then goes on; recording never stands between a failure and its rollback. */
  private failedRecord(id: string, step: string, next: sfn.IChainable): sfn.State {
    const record = this.ledgerTask(id, 'failed', { step });
    record.addCatch(next, { resultPath: '$.recordError' }).next(next);
    return record;
  }

  /** An IAM call as a direct aws-sdk integration, retried on throttling with backoff. */
  private iamCall(
    id: string,
    action: string,
    kind: Kind,
    parameters: Record<string, unknown>,
    resultPath: string = sfn.JsonPath.DISCARD,
  ): tasks.CallAwsService {
    const iamAction = `iam:${action.charAt(0).toUpperCase()}${action.slice(1)}`;
    this.iamActions.add(iamAction);
    const task = new tasks.CallAwsService(this.s, id, {
      service: 'iam',
      action,
      iamAction,
      // The principal is known at run time only; grant() denies the protected ones.
      iamResources: [iamResourceArn(Stack.of(this), kind)],
      parameters,
      resultSelector: { ok: true },
      resultPath,
    });
    task.addRetry({
      errors: IAM_TRANSIENT,
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 6,
      jitterStrategy: sfn.JitterType.FULL,
    });
    this.collecting?.push(task);
    return task;
  }

  private byKind(id: string, build: (kind: Kind) => sfn.IChainable): sfn.Choice {
    return new sfn.Choice(this.s, id)
      .when(sfn.Condition.stringEquals('$.evidence.plan.targetKind', 'role'), build('role'))
      .otherwise(build('user'));
  }

  /**
   * A forward action: recorded before, done, recorded after. The IAM call's
   * ResultPath keeps its success under `$.done` (the undo chain reads it); any
   * failure is recorded and goes to `onError`.
   */
  private action(
    id: string,
    step: string,
    onError: sfn.IChainable,
    build: (after: sfn.State, failed: sfn.State) => sfn.IChainable,
    options: { beforeResultPath?: string } = {},
  ): { start: sfn.State; end: tasks.LambdaInvoke } {
    const failed = this.failedRecord(`Failed${id}`, step, onError);
    const before = this.ledgerTask(`Before${id}`, 'before', { step, resultPath: options.beforeResultPath });
    const after = this.ledgerTask(`After${id}`, 'after', { step });
    before.addCatch(failed, { resultPath: '$.error' });
    after.addCatch(failed, { resultPath: '$.error' });
    before.next(build(after, failed));
    return { start: before, end: after };
  }

  /** An undo step: recording problems never block it; a failed IAM call stops the chain for a person. */
  private undoStep(
    id: string,
    step: string,
    next: sfn.IChainable,
    onError: sfn.IChainable,
    build: (after: sfn.State) => sfn.IChainable,
  ): sfn.State {
    const before = this.ledgerTask(`Before${id}`, 'before', { step });
    const after = this.ledgerTask(`After${id}`, 'after', { step });
    this.collecting = [];
    const body = build(after);
    const calls = this.collecting;
    this.collecting = undefined;
    for (const call of calls) call.addCatch(onError, { resultPath: '$.error' });
    before.addCatch(body, { resultPath: '$.recordError' }).next(body);
    after.addCatch(next, { resultPath: '$.recordError' }).next(next);
    return before;
  }

  private userKeyChain(contained: sfn.IChainable, rollback: sfn.IChainable): sfn.IChainable {
    const s = this.s;
    // A failed rotation deletes any new key that was not stored; the old key stays (inactive).
    const cleanup = this.lambdaRetry(
      new tasks.LambdaInvoke(s, 'CleanupNewKeys', {
        lambdaFunction: this.props.rotation.function,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({ op: 'cleanup', plan: sfn.JsonPath.objectAt('$.evidence.plan') }),
        resultPath: '$.cleanup',
      }),
    );
    const cleanupFailed = this.ledgerTask('CleanupFailed', 'undo-failed', { step: 'cleanup-new-keys' });
    const unstored = new sfn.Fail(s, 'UnstoredKeyRemains', {
      error: 'UnstoredKeyRemains',
      cause: 'a new access key may exist that was not stored; the notification says which user to check',
    });
    cleanupFailed.addCatch(unstored, { resultPath: '$.recordError' }).next(unstored);
    cleanup.addCatch(cleanupFailed, { resultPath: '$.cleanupError' });
    const afterCleanup = this.ledgerTask('AfterCleanupNewKeys', 'after', { step: 'cleanup-new-keys' });
    afterCleanup.addCatch(contained, { resultPath: '$.recordError' }).next(contained);
    cleanup.next(afterCleanup);

    const rotationFailed = this.failedRecord('FailedRotateKey', 'rotate-key', cleanup);
    const beforeRotate = this.ledgerTask('BeforeRotateKey', 'before', { step: 'rotate-key' });
    const rotate = this.lambdaRetry(
      new tasks.LambdaInvoke(s, 'RotateKey', {
        lambdaFunction: this.props.rotation.function,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({ op: 'rotate', plan: sfn.JsonPath.objectAt('$.evidence.plan') }),
        resultPath: '$.rotation',
      }),
    );
    const afterRotate = this.ledgerTask('AfterRotateKey', 'after', {
      step: 'rotate-key',
      resultPath: '$.done.rotateKey',
    });
    for (const state of [beforeRotate, rotate, afterRotate])
      state.addCatch(rotationFailed, { resultPath: '$.error' });
    beforeRotate.next(rotate).next(afterRotate).next(contained);
    const ifRotate = new sfn.Choice(s, 'IfRotateKey')
      .when(sfn.Condition.booleanEquals('$.evidence.plan.rotate', true), beforeRotate)
      .otherwise(contained);

    const quarantine = this.action('QuarantineUser', 'attach-quarantine', rollback, (after, failed) =>
      this.iamCall(
        'AttachUserQuarantine',
        'attachUserPolicy',
        'user',
        {
          UserName: sfn.JsonPath.stringAt('$.evidence.plan.userName'),
          PolicyArn: sfn.JsonPath.stringAt('$.evidence.plan.quarantinePolicyArn'),
        },
        '$.done.attachQuarantine',
      )
        .addCatch(failed, { resultPath: '$.error' })
        .next(after),
    );
    quarantine.end.next(ifRotate);
    const ifQuarantine = new sfn.Choice(s, 'IfQuarantineUser')
      .when(sfn.Condition.booleanEquals('$.evidence.plan.attachQuarantine', true), quarantine.start)
      .otherwise(ifRotate);

    const deactivate = this.action('DeactivateKey', 'deactivate-key', rollback, (after, failed) =>
      this.iamCall(
        'DeactivateKeyCall',
        'updateAccessKey',
        'user',
        {
          UserName: sfn.JsonPath.stringAt('$.evidence.plan.userName'),
          AccessKeyId: sfn.JsonPath.stringAt('$.evidence.plan.accessKeyId'),
          Status: 'Inactive',
        },
        '$.done.deactivateKey',
      )
        .addCatch(failed, { resultPath: '$.error' })
        .next(after),
    );
    deactivate.end.next(ifQuarantine);
    return new sfn.Choice(s, 'IfDeactivateKey')
      .when(sfn.Condition.booleanEquals('$.evidence.plan.deactivateKey', true), deactivate.start)
      .otherwise(ifQuarantine);
  }

  private sessionChain(contained: sfn.IChainable, rollback: sfn.IChainable): sfn.IChainable {
    const s = this.s;
    const quarantine = this.action('QuarantineSession', 'attach-quarantine', rollback, (after, failed) =>
      this.byKind('QuarantineSessionFor', (kind) =>
        this.iamCall(
          `Attach${KIND_NAME[kind]}SessionQuarantine`,
          `attach${KIND_NAME[kind]}Policy`,
          kind,
          {
            [NAME_PARAMETER[kind]]: sfn.JsonPath.stringAt(NAME_PATH[kind]),
            PolicyArn: sfn.JsonPath.stringAt('$.evidence.plan.quarantinePolicyArn'),
          },
          '$.done.attachQuarantine',
        )
          .addCatch(failed, { resultPath: '$.error' })
          .next(after),
      ),
    );
    quarantine.end.next(contained);
    const ifQuarantine = new sfn.Choice(s, 'IfQuarantineSession')
      .when(sfn.Condition.booleanEquals('$.evidence.plan.attachQuarantine', true), quarantine.start)
      .otherwise(contained);

    const revoke = this.action(
      'RevokeSessions',
      'revoke-sessions',
      rollback,
      (after, failed) =>
        this.byKind('RevokeSessionsFor', (kind) =>
          this.iamCall(
            `Revoke${KIND_NAME[kind]}Sessions`,
            `put${KIND_NAME[kind]}Policy`,
            kind,
            {
              [NAME_PARAMETER[kind]]: sfn.JsonPath.stringAt(NAME_PATH[kind]),
              PolicyName: REVOKE_POLICY_NAME,
              // Written by the "before" record at the moment of the call, not when the plan was made.
              PolicyDocument: sfn.JsonPath.stringAt('$.revokePolicy.policyDocument'),
            },
            '$.done.revokeSessions',
          )
            .addCatch(failed, { resultPath: '$.error' })
            .next(after),
        ),
      { beforeResultPath: '$.revokePolicy' },
    );
    revoke.end.next(ifQuarantine);
    return new sfn.Choice(s, 'IfRevokeSessions')
      .when(sfn.Condition.booleanEquals('$.evidence.plan.revokeSessions', true), revoke.start)
      .otherwise(ifQuarantine);
  }

  private refreshChain(contained: sfn.IChainable, finished: sfn.IChainable): sfn.IChainable {
    const s = this.s;
    const planter = this.props.plantFunction;
    if (!planter) {
      const none = this.ledgerTask('NoRefresh', 'finished', { step: 'no planter deployed' });
      none.addCatch(finished, { resultPath: '$.recordError' }).next(finished);
      return none;
    }
    const refreshFailed = this.ledgerTask('RefreshFailed', 'undo-failed', { step: 'refresh-credentials' });
    const incomplete = new sfn.Fail(s, 'RefreshIncomplete', {
      error: 'RefreshIncomplete',
      cause: 'replacing the planted resources failed; the scheduled refresh will retry',
    });
    refreshFailed.addCatch(incomplete, { resultPath: '$.recordError' }).next(incomplete);
    const refresh = this.action('Refresh', 'refresh-credentials', refreshFailed, (after, failed) =>
      this.lambdaRetry(
        new tasks.LambdaInvoke(s, 'RefreshCredentials', {
          lambdaFunction: planter.function,
          payloadResponseOnly: true,
          // The planter rotates now (reason) and names its run after this execution (id).
          payload: sfn.TaskInput.fromObject({
            action: 'refresh',
            reason: 'response',
            id: sfn.JsonPath.stringAt('$$.Execution.Name'),
          }),
          resultSelector: { ok: true },
          resultPath: '$.done.refreshCredentials',
        }),
      )
        .addCatch(failed, { resultPath: '$.error' })
        .next(after),
    );
    refresh.end.next(contained);
    return refresh.start;
  }

  /** After containment: the health check (auto-revert), then the old key's grace period and deletion. */
  private afterContained(finished: sfn.IChainable, undoChain: sfn.IChainable): sfn.IChainable {
    const s = this.s;
    const manual = this.ledgerTask('OldKeyNotDeleted', 'undo-failed', { step: 'delete-old-key' });
    const oldKeyRemains = new sfn.Fail(s, 'OldKeyRemains', {
      error: 'OldKeyRemains',
      cause: 'the old access key stays inactive but could not be deleted; the new key is stored',
    });
    manual.addCatch(oldKeyRemains, { resultPath: '$.recordError' }).next(oldKeyRemains);
    const deleteOld = this.action('DeleteOldKey', 'delete-old-key', manual, (after, failed) =>
      this.iamCall(
        'DeleteOldKeyCall',
        'deleteAccessKey',
        'user',
        {
          UserName: sfn.JsonPath.stringAt('$.evidence.plan.userName'),
          AccessKeyId: sfn.JsonPath.stringAt('$.evidence.plan.accessKeyId'),
        },
        '$.done.deleteOldKey',
      )
        .addCatch(failed, { resultPath: '$.error' })
        .next(after),
    );
    deleteOld.end.next(finished);
    const grace = new sfn.Wait(s, 'GracePeriod', {
      time: sfn.WaitTime.secondsPath('$.decision.graceSeconds'),
    });
    grace.next(deleteOld.start);
    // The old key goes only once the new one is stored: the rotation's result is there.
    const ifDelete = new sfn.Choice(s, 'IfDeleteOldKey')
      .when(sfn.Condition.isPresent('$.rotation.newAccessKeyId'), grace)
      .otherwise(finished);

    let next: sfn.IChainable = ifDelete;
    const alarms = this.props.config.response.healthCheckAlarms;
    if (alarms.length > 0) {
      const delay = new sfn.Wait(s, 'HealthCheckDelay', {
        time: sfn.WaitTime.secondsPath('$.decision.healthCheckSeconds'),
      });
      const check = new tasks.CallAwsService(s, 'CheckHealth', {
        service: 'cloudwatch',
        action: 'describeAlarms',
        iamAction: 'cloudwatch:DescribeAlarms',
        iamResources: alarms.map((name) =>
          Stack.of(this).formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: name,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
        parameters: { AlarmNames: sfn.JsonPath.listAt('$.decision.healthAlarms'), StateValue: 'ALARM' },
        resultSelector: { 'alarming.$': 'States.ArrayLength($.MetricAlarms)' },
        resultPath: '$.health',
      });
      check.addRetry({
        errors: ['CloudWatch.ThrottlingException', 'CloudWatch.Throttling'],
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 5,
      });
      // A health check that cannot run does not undo a containment.
      check.addCatch(this.failedRecord('FailedCheckHealth', 'health-check', ifDelete), {
        resultPath: '$.error',
      });
      const autoRevert = new sfn.Pass(s, 'AutoRevert', {
        result: sfn.Result.fromString('health-check'),
        resultPath: '$.undoReason',
      });
      autoRevert.next(undoChain);
      delay
        .next(check)
        .next(
          new sfn.Choice(s, 'Healthy')
            .when(sfn.Condition.numberGreaterThan('$.health.alarming', 0), autoRevert)
            .otherwise(ifDelete),
        );
      next = delay;
    }
    // Replacing planted resources changed nothing real: no health check, no key to delete.
    return new sfn.Choice(s, 'AfterContained')
      .when(sfn.Condition.stringEquals('$.evidence.plan.path', 'refresh'), finished)
      .otherwise(next);
  }
}

function executionRef() {
  return {
    arn: sfn.JsonPath.stringAt('$$.Execution.Id'),
    startedAt: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
  };
}

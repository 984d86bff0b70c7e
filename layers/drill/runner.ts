import { type CloudTrailRecord, toEnvelope } from '../cloudtrail/record';
import type { FindingKind, HoneytrailConfigInput } from '../config/schema';
import { MemoryTouchStore } from '../detection/store';
import { type Finding, findingId } from '../findings/finding';
import { findingEntry } from '../findings/publish';
import { findingDigest, MemoryFindingRecords, RecordedFindingSink } from '../findings/records';
import { MemoryAuditStore } from '../response/audit';
import { MemoryBudgetStore } from '../response/budget';
import { MemoryIncidentStore } from '../response/incidents';
import type { Decision } from '../response/policy';
import { MemoryReceivedFindings } from '../response/received';
import { MemoryRefusalLog } from '../response/refusals';
import { type ExecutionStarter, type IntakeDeps, startResponse } from '../response/start';
import type { RespondInput } from '../response/state';
import { type DeliveredFinding, scoreAsDelivered } from '../scoring/as-delivered';
import type { ActivityModel } from '../scoring/model';
import { scoreWindows } from '../scoring/score';
import { trainModel } from '../scoring/train';
import { type Deployment, synthesizeDeployment } from './deployment';
import {
  countByKind,
  type DrillKpis,
  failures,
  type OrganizationKpis,
  summarizeLatencies,
  timeToDetect,
} from './kpi';
import { type OrganizationWorld, organizationConfig, organizationWorld } from './organization';
import { type Phase, playScenario } from './play';
import { MemoryEvidence, MemoryNotifier, RecordingServices, ScenarioPrincipalReader } from './ports';
import { DeployedRouting, type EventEnvelope, trailLogs } from './routing';
import { parseDuration, type Scenario } from './scenario';
import type { StackTemplate } from './template';
import { wireResponse, wireTouchFunction } from './wiring';

/**
 * The offline drill: plays a scenario through what the app deploys. Records go
 * through the synthesized trail selectors and rules (per region, bus to bus) to
 * the touch function's code; the scorer, trained on the benign history only,
 * scores each window as it closes; every finding goes, as the finding event on
 * the central bus, through the synthesized rules to the intake's code, which
 * starts the synthesized state machine, run locally with its tasks bound to the
 * response functions' code over in-memory ports. Own processing time is measured
 * with the wall clock; the scenario's clock drives everything else.
 */

export interface DrillOptions {
  /** The config as the app reads it (cdk.json context.honeytrail or a file). */
  config: HoneytrailConfigInput;
  scenario: Scenario;
  /** Changes the synthesized templates before they are read (tests break a pattern on purpose). */
  alterTemplates?: (stacks: StackTemplate[]) => void;
  /** A deployment already synthesized (for the scenario's account, or its organization): tests share one. */
  deployment?: Deployment;
  onProgress?: (message: string) => void;
}

export interface StepReport {
  index: number;
  time: number;
  actor: string;
  call: string;
  region: string;
  note: string;
  error?: string;
  touchesDecoy: boolean;
  /** The trail logged the call (else EventBridge never sees it). */
  logged: boolean;
  /** Rules that routed it to the touch function. */
  rules: string[];
  findingIds: string[];
  /** Touch results: alerted, counted, duplicate, allowlisted... */
  results: string[];
  detected: boolean;
  /** Why no finding, when none: the first place the call was lost. */
  missReason?: string;
  /** The account the call was made in (the record's recipientAccountId). */
  account?: string;
  /** Organization drills: the account whose rule first forwarded it (a member's, to the central bus). */
  routedFrom?: string;
}

export interface ResponseReport {
  executionName: string;
  status: 'SUCCEEDED' | 'FAILED' | 'DUPLICATE';
  outcome?: Decision['outcome'];
  path?: Decision['path'];
  reason?: string;
  principal?: string;
  planned: string[];
  skipped: string[];
  executed: string[];
  error?: string;
  tasks: string[];
  /** Simulated time the plan was recorded. */
  time: number;
  /** Organization drills: the member role the control plane assumes to act on the principal. */
  actingAs?: string;
  /** The incident the finding joined. */
  incidentId?: string;
}

export interface FindingReport {
  finding: Finding;
  /** Simulated time it was raised (the record's, or the window's close). */
  time: number;
  recordToFindingMs: number;
  findingToContainmentMs?: number;
  /** Which attack steps it covers. */
  steps: number[];
  response?: ResponseReport;
}

export interface ScorePoint {
  principal: string;
  windowStart: number;
  score: number;
  calls: number;
  attack: boolean;
  flagged: boolean;
}

/** One played call, for the report's timeline. */
export interface CallPoint {
  arn: string;
  time: number;
  attack: boolean;
  label: string;
}

export interface HourSummary {
  start: number;
  benignCalls: number;
  /** Benign principals active in the hour. */
  principals: number;
  attackCalls: number;
  routed: number;
}

export interface DrillIncident {
  id: string;
  severity: string;
  /** MITRE ATT&CK tactics of the incident's calls, in kill-chain order. */
  stages: string[];
  principals: string[];
  findings: number;
  openedAt: string;
}

export interface DrillResult {
  scenario: Scenario;
  deployment: Deployment;
  kpis: DrillKpis;
  steps: StepReport[];
  findings: FindingReport[];
  scores: ScorePoint[];
  threshold?: number;
  hours: HourSummary[];
  calls: CallPoint[];
  playStart: number;
  playEnd: number;
  attackStart: number;
  benignPrincipals: string[];
  attackPrincipals: string[];
  /** Benign principals a response planned to contain (should be empty). */
  benignActedOn: string[];
  /**
   * A finding forged after the play (a genuine one naming a benign principal
   * instead, put on the bus without a detector's record): refused, as it must be?
   * Undefined when there was no finding or no response to forge against.
   */
  forgery?: { principal: string; refused: boolean; reason?: string };
  /** Organization drills: the member accounts' worlds and where member-side rules came from. */
  organization?: OrganizationWorld;
  /** The incidents the response opened, with their kill-chain stages. */
  incidents: DrillIncident[];
  warnings: string[];
  failures: string[];
}

export async function runDrill(options: DrillOptions): Promise<DrillResult> {
  const started = performance.now();
  const { scenario } = options;
  const progress = options.onProgress ?? (() => {});
  const warnings: string[] = [];

  progress('synthesizing the app');
  const deployment =
    options.deployment ??
    synthesizeDeployment({
      config: organizationConfig(options.config, scenario),
      account: scenario.organization?.securityAccount ?? scenario.account,
      alterTemplates: options.alterTemplates,
    });
  const { config, world } = deployment;
  // Organization scenarios: decoys in each member, member-side forwarding to the central bus.
  const organization = scenario.organization ? organizationWorld(deployment, scenario) : undefined;
  const routing = new DeployedRouting([...deployment.rules, ...(organization?.memberRules ?? [])]);
  const memberAccounts = new Set(Object.values(scenario.organization?.members ?? {}));
  const trailsFor = (record: CloudTrailRecord) =>
    organization && memberAccounts.has(record.recipientAccountId ?? '')
      ? organization.trails
      : deployment.trails;
  const knownDecoys = organization
    ? Object.values(organization.members).flatMap((member) => member.decoys)
    : world.decoys;
  if (organization?.memberRulesFrom === 'modelled')
    warnings.push(
      'the app synthesizes no member template: member forwarding is modelled on the security account’s own forwarding rules',
    );

  await yieldToEventLoop();
  progress('playing the scenario');
  const played = playScenario(scenario, world, organization?.members);

  // ---- scoring: a model trained on the benign history only ----
  let model: ActivityModel | undefined;
  if (config.scoring.enabled) {
    progress(`training the scorer on ${played.history.length} benign records`);
    const trained = trainModel(played.history, {
      windowMinutes: config.scoring.windowMinutes,
      trainedAt: new Date(played.playStart),
    });
    if (trained.status === 'trained') model = trained.model;
    else warnings.push(`scorer not trained: ${trained.message}`);
    await yieldToEventLoop();
  } else warnings.push('scoring is disabled in the config (scoring.enabled): no anomaly findings');

  // ---- the touch function's code, wired as handler.ts wires it, over memory ----
  let simNow = played.playStart;
  let currentRecordStart = 0;
  const published: { finding: Finding; at: number; time: number; recordStart: number }[] = [];
  // The detectors record each finding before publishing it, as findingSinkFromEnvironment wires them.
  const findingRecords = new MemoryFindingRecords();
  const touch = wireTouchFunction(deployment.touch, {
    decoys: knownDecoys,
    store: new MemoryTouchStore(),
    sink: new RecordedFindingSink(findingRecords, {
      publish: async (finding) => {
        published.push({ finding, at: performance.now(), time: simNow, recordStart: currentRecordStart });
      },
    }),
    now: () => simNow,
  });

  // ---- the response: intake, the local state machine, ledger and evidence over memory ----
  const services = new RecordingServices();
  const audit = new MemoryAuditStore();
  const incidents = new MemoryIncidentStore();
  const reader = new ScenarioPrincipalReader();
  const ports = {
    audit,
    notifier: new MemoryNotifier(),
    reader,
    evidence: new MemoryEvidence(),
    services,
    reservedUsers: knownDecoys.filter((d) => d.kind === 'iam-user').map((d) => d.name),
    // One store for the intake and the ledger, as the records bucket is deployed.
    received: new MemoryReceivedFindings(),
    incidents,
    budget: new MemoryBudgetStore(),
    // The drill runs each execution to its end before the next finding arrives (an
    // approval nobody answers times out), so no approval is still waiting to escalate.
    escalation: { approve: async () => 'gone' as const },
  };
  const refusals = new MemoryRefusalLog();
  const alerts = new MemoryNotifier();
  const executions: { name: string; input: RespondInput; arn: string }[] = [];
  const executionNames = new Set<string>();
  const response = deployment.response;
  const automated = new Set(config.organization?.automation.accounts ?? []);
  const workflow = response
    ? wireResponse(response, ports, () => new Date(simNow), {
        actInMemberAccounts: memberAccounts.size > 0 && [...memberAccounts].every((a) => automated.has(a)),
      })
    : undefined;
  const intakeArn = response?.intake.arn;
  const stateMachineArn = response?.stateMachine.arn ?? '';
  if (!response) warnings.push('the app deploys no response workflow: findings are not answered');
  const starter: ExecutionStarter = {
    async start(name, input) {
      if (executionNames.has(name)) return { duplicate: true };
      executionNames.add(name);
      const arn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      executions.push({ name, input, arn });
      return { executionArn: arn, duplicate: false };
    },
  };
  const intake: IntakeDeps = {
    starter,
    records: findingRecords,
    refusals,
    alerts,
    now: () => new Date(simNow),
    received: ports.received,
  };

  const findingReports: FindingReport[] = [];
  const stepByEventId = new Map<string, number>();
  for (const item of played.played)
    if (item.step !== undefined) stepByEventId.set(item.record.eventID!, item.step);

  /** A finding as the detectors' sink puts it on the central bus. */
  const findingEvent = (finding: Finding, time: number, id: string): EventEnvelope => {
    const bus = findingEntry(finding, world.busName);
    return {
      version: '0',
      id,
      'detail-type': bus.DetailType,
      source: bus.Source,
      account: world.account,
      time: new Date(time).toISOString(),
      region: world.homeRegion,
      resources: [],
      detail: JSON.parse(bus.Detail),
    };
  };

  /** A finding, as published on the central bus, goes through the deployed rules to the intake. */
  const respond = async (entry: (typeof published)[number], steps: number[]) => {
    const report: FindingReport = {
      finding: entry.finding,
      time: entry.time,
      recordToFindingMs: entry.at - entry.recordStart,
      steps,
    };
    findingReports.push(report);
    if (!workflow || !intakeArn) return;
    const event = findingEvent(entry.finding, entry.time, `${entry.finding.id}-${findingReports.length}`);
    const deliveries = routing
      .deliver(event, world.homeRegion, world.busName)
      .filter((d) => d.targetArn === intakeArn);
    if (deliveries.length === 0) {
      warnings.push(
        `finding ${entry.finding.id.slice(0, 12)} (${entry.finding.kind}): no rule on the central bus starts a response`,
      );
      return;
    }
    for (const _ of deliveries) {
      const started = await startResponse(event, intake);
      if (started.refused) {
        warnings.push(
          `finding ${entry.finding.id.slice(0, 12)} (${entry.finding.kind}) refused by the intake: ${started.refused.reason}`,
        );
        continue;
      }
      if (started.duplicate) {
        report.response ??= {
          executionName: started.executionName,
          status: 'DUPLICATE',
          planned: [],
          skipped: [],
          executed: [],
          tasks: [],
          time: simNow,
        };
        continue;
      }
      const execution = executions.find((e) => e.name === started.executionName)!;
      const callsBefore = services.changes().length;
      const result = await workflow.run(execution.input, {
        arn: execution.arn,
        startedAt: new Date(simNow).toISOString(),
      });
      const finishedAt = performance.now();
      const records = await audit.query({ executionArn: execution.arn });
      const decision = records.find((r) => r.event === 'decision')?.detail.decision as Decision | undefined;
      report.response = {
        executionName: execution.name,
        status: result.status,
        outcome: decision?.outcome,
        path: decision?.path,
        reason: decision?.reason,
        principal: decision?.principal,
        ...(decision?.incidentId ? { incidentId: decision.incidentId } : {}),
        planned: records.filter((r) => r.event === 'planned').map((r) => r.change ?? r.step ?? ''),
        skipped: records
          .filter((r) => r.event === 'planned' && r.reason)
          .map((r) => `${r.step}: ${r.reason}`),
        executed: services
          .changes()
          .slice(callsBefore)
          .map((call) => `${call.service}:${call.action}`),
        ...(result.error
          ? { error: [`${result.error.name}: ${result.error.message}`, ...result.taskErrors].join('; ') }
          : {}),
        tasks: result.tasks,
        time: simNow,
        ...(organization && decision?.principal && decision.outcome !== 'notify'
          ? { actingAs: memberRoleArn(decision.principal, config.organization?.memberRoleName) }
          : {}),
      };
      // Containment planned (dry-run) or done (act); an approval request is neither yet.
      if (decision?.outcome === 'dry-run' || decision?.outcome === 'act')
        report.findingToContainmentMs = finishedAt - entry.at;
    }
  };

  // ---- play ----
  progress(`playing ${played.played.length} records through ${deployment.rules.length} deployed rules`);
  const steps: StepReport[] = scenario.attack.steps.map((step, index) => ({
    index,
    time: 0,
    actor: step.actor,
    call: step.call ?? `${String(step.record?.eventSource).split('.')[0]}:${String(step.record?.eventName)}`,
    region: '',
    note: step.note,
    ...(step.error ? { error: step.error } : {}),
    touchesDecoy: step.touchesDecoy,
    logged: false,
    rules: [],
    findingIds: [],
    results: [],
    detected: false,
  }));
  const windowMs = (model?.windowMinutes ?? config.scoring.windowMinutes) * 60_000;
  const pendingWindow: CloudTrailRecord[] = [];
  let windowEnd = Math.floor(played.playStart / windowMs) * windowMs + windowMs;
  const scores: ScorePoint[] = [];
  const attackEventIds = new Set(stepByEventId.keys());
  const hours = new Map<number, HourSummary & { names: Set<string> }>();
  let routed = 0;

  const toEventBridge = parseDuration(scenario.delivery.toEventBridge) ?? 60_000;
  const toLogFiles = parseDuration(scenario.delivery.logFiles) ?? 300_000;

  // Anomaly findings come as the scoring function raises them: per delivered log file,
  // with verdicts, de-duplicated per window, raised again only when severity grows.
  // Scored on what the trail logs, with the scenario's log-file delay.
  let delivered: DeliveredFinding[] = [];
  // Own processing time of an anomaly finding: the mean wall time to score one log file.
  let perLogFileMs = 0;
  if (model) {
    progress('scoring the log files as they are delivered');
    const logged = played.played
      .map((p) => p.record)
      .filter((record) => trailLogs(trailsFor(record), record));
    const startedScoring = performance.now();
    delivered = await scoreAsDelivered(model, logged, { delayMs: toLogFiles });
    // scoreAsDelivered cuts one log file per account, region and 5 minutes.
    const logFiles = new Set(
      logged.map(
        (r) => `${r.recipientAccountId}/${r.awsRegion}/${Math.floor(Date.parse(r.eventTime) / 300_000)}`,
      ),
    ).size;
    perLogFileMs = (performance.now() - startedScoring) / Math.max(1, logFiles);
    await yieldToEventLoop();
  }
  let nextDelivered = 0;
  /** Answers the anomaly findings delivered by `until` (scenario time), at their delivery time. */
  const respondDelivered = async (until: number) => {
    while (nextDelivered < delivered.length && delivered[nextDelivered]!.at <= until) {
      const { finding, at } = delivered[nextDelivered++]!;
      simNow = at;
      const steps = played.played
        .filter(
          (p) =>
            p.step !== undefined &&
            p.record.userIdentity?.arn === finding.actor.arn &&
            Date.parse(p.record.eventTime) <= at,
        )
        .map((p) => p.step!);
      const startedResponse = performance.now();
      // The scoring function's sink records each finding before publishing it.
      await findingRecords.record(finding.id, findingDigest(finding));
      await respond({ finding, at: startedResponse, time: at, recordStart: startedResponse - perLogFileMs }, [
        ...new Set(steps),
      ]);
    }
  };

  /** The anomaly scores of a closed window, for the report's chart (findings come from respondDelivered). */
  const closeWindow = async () => {
    if (!model || pendingWindow.length === 0) {
      pendingWindow.length = 0;
      return;
    }
    const attackKeys = new Set(
      pendingWindow.filter((r) => attackEventIds.has(r.eventID ?? '')).map((r) => principalLabel(r)),
    );
    for (const s of scoreWindows(model, pendingWindow)) {
      scores.push({
        principal: s.window.principal.arn,
        windowStart: s.window.windowStart,
        score: s.score,
        calls: s.window.calls,
        attack: attackKeys.has(s.window.principal.arn),
        flagged: s.score >= model.threshold,
      });
    }
    pendingWindow.length = 0;
  };

  let sinceYield = 0;
  for (const item of played.played) {
    if (++sinceYield >= 500) {
      sinceYield = 0;
      await yieldToEventLoop();
    }
    const { record } = item;
    const time = Date.parse(record.eventTime);
    while (time >= windowEnd) {
      await closeWindow();
      windowEnd += windowMs;
    }
    await respondDelivered(time);
    simNow = time;
    reader.observe(record);
    pendingWindow.push(record);
    const hour = summaryHour(hours, time, item.phase, record);

    const logged = trailLogs(trailsFor(record), record);
    const step = item.step !== undefined ? steps[item.step]! : undefined;
    if (step) {
      step.time = time;
      step.region = record.awsRegion;
      step.logged = logged;
      if (record.recipientAccountId) step.account = record.recipientAccountId;
    }
    if (!logged) {
      if (step) step.missReason = 'the trail does not log it';
      continue;
    }
    currentRecordStart = performance.now();
    const envelope = toEnvelope(record) as EventEnvelope;
    const deliveries = routing
      .deliver(envelope, record.awsRegion, 'default', record.recipientAccountId)
      .filter((d) => d.targetArn === deployment.touch.arn);
    if (deliveries.length > 0) {
      routed += 1;
      hour.routed += 1;
    }
    const before = published.length;
    for (const delivery of deliveries) {
      const outcome = await touch(envelope);
      if (step) {
        step.rules.push(delivery.path.map((rule) => `${rule.region}/${rule.name}`).join(' > '));
        for (const t of outcome.matches) {
          step.results.push(t.result);
          if (t.findingId && t.result !== 'allowlisted' && !step.findingIds.includes(t.findingId)) {
            step.findingIds.push(t.findingId);
          }
        }
      }
    }
    if (step) {
      step.detected = step.findingIds.length > 0;
      if (!step.detected)
        step.missReason = missReason(
          routing,
          record,
          deliveries.length,
          step.results,
          organization ? record.recipientAccountId : undefined,
        );
      if (step.detected && organization) step.routedFrom = deliveries[0]?.path[0]?.account;
    }
    for (const entry of published.slice(before)) {
      await respond(entry, item.step !== undefined ? [item.step] : []);
    }
  }
  // The last window closes at the end of the play (its records are all in); the last log files arrive after it.
  await closeWindow();
  await respondDelivered(Number.POSITIVE_INFINITY);

  // Touch findings cover every step whose record joined their window.
  for (const report of findingReports) {
    if (report.finding.kind === 'anomaly') continue;
    report.steps = steps.filter((s) => s.findingIds.includes(report.finding.id)).map((s) => s.index);
  }

  /**
   * Someone who may call events:PutEvents takes a genuine finding, names a benign
   * principal instead and puts it on the bus (the bus policy denies that in AWS;
   * here the event reaches the intake to show the second check): no detector
   * recorded it, so the intake must refuse it.
   */
  const forgeAgainst = async (benignPrincipals: Set<string>) => {
    const genuine = findingReports[0]?.finding;
    const principal = [...benignPrincipals].sort()[0];
    if (!workflow || !genuine || !principal) return undefined;
    const forged: Finding = {
      ...genuine,
      id: findingId(['forged', genuine.id]),
      actor: { ...genuine.actor, arn: principal },
    };
    const started = await startResponse(findingEvent(forged, simNow, `${genuine.id}-forged`), intake);
    return { principal, refused: started.refused !== undefined, reason: started.refused?.reason };
  };

  // ---- KPIs ----
  const attackPrincipals = [...new Set(Object.values(played.actorArns))];
  const benign = new Set(
    played.played.filter((p) => p.phase === 'benign').map((p) => principalLabel(p.record)),
  );
  for (const arn of attackPrincipals) benign.delete(arn);
  const actedOn = (report: FindingReport) =>
    report.response?.outcome !== undefined && report.response.outcome !== 'notify';
  const benignActedOn = [
    ...new Set(
      findingReports
        .filter((r) => actedOn(r) && benign.has(r.finding.actor.arn))
        .map((r) => r.finding.actor.arn),
    ),
  ];
  const attackersContained = new Set(
    findingReports
      .filter((r) => actedOn(r) && !benign.has(r.finding.actor.arn))
      .map((r) => r.finding.actor.arn),
  ).size;
  const expected = steps.filter((s) => s.touchesDecoy);
  const missed = expected.filter((s) => !s.detected);
  const responsesOf = new Map<string, number>();
  for (const report of findingReports.filter(actedOn))
    responsesOf.set(report.finding.actor.arn, (responsesOf.get(report.finding.actor.arn) ?? 0) + 1);
  const kpiCore = {
    missedTouches: missed.length,
    benignActedOn: benignActedOn.length,
    actionsExecuted: services.changes().length,
    responsesFailed: findingReports.filter((r) => r.response?.status === 'FAILED').length,
    // Judged only where a response workflow is deployed: without one nothing is answered (a warning says so).
    ...(workflow
      ? {
          maxResponsesPerAttacker: Math.max(0, ...attackPrincipals.map((arn) => responsesOf.get(arn) ?? 0)),
          attackersUnmet: attackPrincipals.filter((arn) => !responsesOf.has(arn)).length,
        }
      : { maxResponsesPerAttacker: 0, attackersUnmet: 0 }),
  };
  const incidentList = [...incidents.incidents.values()].map((incident) => ({
    id: incident.id,
    severity: incident.severity,
    stages: incident.stages,
    principals: incident.principals,
    findings: incident.timeline.length + incident.dropped,
    openedAt: incident.openedAt,
  }));
  const forgery = await forgeAgainst(benign);
  const reasons = failures(kpiCore, config.dryRun);
  const organizationKpis = organization
    ? organizationSummary(organization, scenario, steps, findingReports)
    : undefined;
  if (organizationKpis && organizationKpis.findingsMisattributed > 0)
    reasons.push(
      `${organizationKpis.findingsMisattributed} touch(es) in a member account raised findings naming another account`,
    );
  if (forgery && !forgery.refused)
    reasons.push(`a forged finding naming ${forgery.principal} was not refused by the intake`);
  const firstCalls = new Map<string, number>();
  for (const item of played.played) {
    if (item.phase !== 'attack') continue;
    const arn = principalLabel(item.record);
    if (!firstCalls.has(arn)) firstCalls.set(arn, Date.parse(item.record.eventTime));
  }
  const { detected: _detected, ...detection } = timeToDetect(
    [...firstCalls].map(([arn, firstCall]) => ({ arn, firstCall })),
    findingReports.map((report) => ({
      arn: report.finding.actor.arn,
      // Touch findings follow the event to EventBridge; anomaly findings are timed at their log file's delivery.
      detectedAt: report.time + (report.finding.kind === 'anomaly' ? 0 : toEventBridge),
    })),
  );
  const kpis: DrillKpis = {
    scenario: scenario.name,
    findings: countByKind(findingReports.map((r) => r.finding.kind as FindingKind)),
    ...kpiCore,
    recordToFindingMs: summarizeLatencies(findingReports.map((r) => r.recordToFindingMs)),
    findingToContainmentMs: summarizeLatencies(
      findingReports.flatMap((r) =>
        r.findingToContainmentMs === undefined ? [] : [r.findingToContainmentMs],
      ),
    ),
    touchesExpected: expected.length,
    touchesDetected: expected.length - missed.length,
    attackersContained,
    responses: findingReports.filter(actedOn).length,
    incidents: incidentList.length,
    records: {
      history: played.history.length,
      played: played.played.length,
      attack: steps.length,
      routed,
    },
    ...detection,
    elapsedMs: Math.round(performance.now() - started),
    ...(organizationKpis ? { organization: organizationKpis } : {}),
    passed: reasons.length === 0,
  };

  return {
    scenario,
    deployment,
    kpis,
    steps,
    findings: findingReports,
    scores,
    ...(model ? { threshold: model.threshold } : {}),
    hours: [...hours.values()]
      .sort((a, b) => a.start - b.start)
      .map(({ names, ...hour }) => ({ ...hour, principals: names.size })),
    calls: played.played.map((p) => ({
      arn: principalLabel(p.record),
      time: Date.parse(p.record.eventTime),
      attack: p.phase === 'attack',
      label: `${p.record.eventSource.split('.')[0]}:${p.record.eventName}${p.record.errorCode ? ` (${p.record.errorCode})` : ''} from ${p.record.sourceIPAddress ?? '?'}`,
    })),
    playStart: played.playStart,
    playEnd: played.playEnd,
    attackStart: played.attackStart,
    benignPrincipals: [...benign].sort(),
    attackPrincipals,
    benignActedOn,
    incidents: incidentList,
    ...(forgery ? { forgery } : {}),
    ...(organization ? { organization } : {}),
    warnings,
    failures: reasons.map((reason) =>
      reason.includes('touch')
        ? `${reason}: ${missed.map((s) => `step ${s.index} ${s.call} in ${s.region} (${s.missReason ?? 'no finding'})`).join(', ')}`
        : reason.includes('benign')
          ? `${reason}: ${benignActedOn.join(', ')}`
          : reason,
    ),
  };
}

/**
 * Lets timers and I/O run between long synchronous phases (synthesis, training,
 * thousands of records): awaiting resolved promises alone never does, and a host
 * such as a test runner talking to its workers over IPC would time out meanwhile.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The role the security account assumes in the principal's account to act there. */
function memberRoleArn(principal: string, roleName = 'platform-operations-access'): string {
  const [, partition = 'aws', , , account = ''] = principal.split(':');
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}

/** The account an ARN names (the fifth field), if any. */
function accountOf(arn: string | undefined): string | undefined {
  const account = arn?.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

/** Does the finding name the account: as the caller's, or as the decoy's? */
function namesAccount(finding: Finding, account: string): boolean {
  return (
    finding.account === account ||
    accountOf(finding.actor.arn) === account ||
    accountOf(finding.resource?.arn) === account
  );
}

function organizationSummary(
  organization: OrganizationWorld,
  scenario: Scenario,
  steps: StepReport[],
  findings: FindingReport[],
): OrganizationKpis {
  const byId = new Map(findings.map((report) => [report.finding.id, report.finding]));
  let misattributed = 0;
  for (const step of steps) {
    if (!step.detected || !step.account) continue;
    const named = step.findingIds.map((id) => byId.get(id)).filter((f): f is Finding => f !== undefined);
    if (!named.some((finding) => namesAccount(finding, step.account!))) misattributed += 1;
  }
  const members = Object.entries(scenario.organization?.members ?? {}).map(([name, account]) => {
    const inAccount = steps.filter((step) => step.account === account && step.touchesDecoy);
    return {
      name,
      account,
      decoys: organization.members[name]?.decoys.length ?? 0,
      touchesExpected: inAccount.length,
      touchesDetected: inAccount.filter((step) => step.detected).length,
      forwardedByMember: inAccount.filter((step) => step.detected && step.routedFrom === account).length,
      findings: findings.filter((report) => namesAccount(report.finding, account)).length,
      responses: findings.filter(
        (report) =>
          report.response?.status === 'SUCCEEDED' && accountOf(report.response.principal) === account,
      ).length,
    };
  });
  return {
    securityAccount: organization.securityAccount,
    memberRules: organization.memberRulesFrom,
    members,
    findingsMisattributed: misattributed,
  };
}

function missReason(
  routing: DeployedRouting,
  record: CloudTrailRecord,
  deliveries: number,
  results: string[],
  /** Organization drills: the account the call was made in (rules are per account there). */
  inAccount?: string,
): string {
  if (routing.rulesOn(record.awsRegion, 'default', inAccount).length === 0)
    return `no rule is deployed in ${record.awsRegion}${inAccount ? ` of account ${inAccount}` : ''}`;
  if (deliveries === 0) return `no deployed rule in ${record.awsRegion} matches it`;
  if (results.includes('allowlisted')) return 'the allowlist hides it';
  return 'the touch function raised no finding from it';
}

function principalLabel(record: CloudTrailRecord): string {
  return record.userIdentity?.arn ?? 'unknown';
}

function summaryHour(
  hours: Map<number, HourSummary & { names: Set<string> }>,
  time: number,
  phase: Phase,
  record: CloudTrailRecord,
): HourSummary & { names: Set<string> } {
  const start = Math.floor(time / 3_600_000) * 3_600_000;
  let hour = hours.get(start);
  if (!hour) {
    hour = { start, benignCalls: 0, principals: 0, attackCalls: 0, routed: 0, names: new Set() };
    hours.set(start, hour);
  }
  if (phase === 'benign') {
    hour.benignCalls += 1;
    hour.names.add(principalLabel(record));
  } else hour.attackCalls += 1;
  return hour;
}

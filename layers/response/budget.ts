import * as z from 'zod';

/**
 * The automation error budget (seed §7; issue 12, item 6): at most `principals`
 * principals contained automatically in any `minutes`, account-wide. Beyond it,
 * further automatic actions wait for a person's approval and the alert says why:
 * a detector gone wrong (or an attacker who makes it go wrong) must not be able
 * to lock out half the account before anyone looks.
 *
 * Pure over the AutomationBudgetStore port (the state table deployed, memory in
 * the drill and tests).
 */

export const budgetSettingsSchema = z.object({
  principals: z.number().int().positive(),
  minutes: z.number().int().positive(),
});
export type BudgetSettings = z.infer<typeof budgetSettingsSchema>;
export const DEFAULT_BUDGET: BudgetSettings = { principals: 3, minutes: 60 };

export const budgetStateSchema = z.object({
  /** Principals contained automatically, and when: the window's spending. */
  spent: z.array(z.object({ principal: z.string(), at: z.string() })),
  version: z.number().int().min(0),
});
export type BudgetState = z.infer<typeof budgetStateSchema>;

export interface BudgetVerdict {
  granted: boolean;
  /** Principals contained automatically within the window, this one included when granted. */
  used: number;
  limit: number;
  minutes: number;
}

/**
 * Spends one principal from the budget if it has room. A principal already in
 * the window costs nothing again (a retried decision, a second finding).
 */
export function spend(
  state: BudgetState,
  principal: string,
  now: Date,
  settings: BudgetSettings,
): { verdict: BudgetVerdict; state: BudgetState } {
  const from = now.getTime() - settings.minutes * 60_000;
  const spent = state.spent.filter((s) => Date.parse(s.at) > from);
  const verdict = (granted: boolean, used: number): BudgetVerdict => ({
    granted,
    used,
    limit: settings.principals,
    minutes: settings.minutes,
  });
  if (spent.some((s) => s.principal === principal)) return { verdict: verdict(true, spent.length), state };
  if (spent.length >= settings.principals) return { verdict: verdict(false, spent.length), state };
  const next = [...spent, { principal, at: now.toISOString() }];
  return { verdict: verdict(true, next.length), state: { ...state, spent: next } };
}

/** Why an automatic action waits, in the words of the alert and the audit record. */
export function budgetReason(verdict: BudgetVerdict): string {
  return `automation budget spent: ${verdict.used} principal(s) contained automatically in the last ${verdict.minutes} minutes (limit ${verdict.limit}); this action waits for approval`;
}

export interface AutomationBudgetStore {
  load(): Promise<BudgetState>;
  /** Stores the state if the stored version is still `state.version`; false otherwise. */
  save(state: BudgetState): Promise<boolean>;
}

export class MemoryBudgetStore implements AutomationBudgetStore {
  state: BudgetState = { spent: [], version: 0 };

  async load(): Promise<BudgetState> {
    return structuredClone(this.state);
  }

  async save(state: BudgetState): Promise<boolean> {
    if (state.version !== this.state.version) return false;
    this.state = structuredClone({ ...state, version: state.version + 1 });
    return true;
  }
}

/** Spends from the stored budget, retrying when another decision wrote first. */
export async function spendBudget(
  store: AutomationBudgetStore,
  principal: string,
  now: Date,
  settings: BudgetSettings,
  tries = 5,
): Promise<BudgetVerdict> {
  for (let i = 0; i < tries; i++) {
    const state = await store.load();
    const result = spend(state, principal, now, settings);
    if (result.state === state || (await store.save(result.state))) return result.verdict;
  }
  throw new Error(`the automation budget kept changing under ${tries} attempts; retry`);
}

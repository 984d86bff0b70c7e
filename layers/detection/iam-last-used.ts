import { GetAccessKeyLastUsedCommand, type IAMClient } from '@aws-sdk/client-iam';
import type { RegistryView } from '../decoys/registry';
import type { DecoyKey, KeyLastUsed } from './unlogged';

/** iam:GetAccessKeyLastUsed as the unlogged-use check needs it. A key deleted meanwhile is unused. */
export function iamLastUsed(client: IAMClient): (accessKeyId: string) => Promise<KeyLastUsed> {
  return async (accessKeyId) => {
    try {
      const { AccessKeyLastUsed: used } = await client.send(
        new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }),
      );
      return {
        ...(used?.LastUsedDate ? { lastUsed: used.LastUsedDate.getTime() } : {}),
        ...(used?.ServiceName ? { serviceName: used.ServiceName } : {}),
        ...(used?.Region ? { region: used.Region } : {}),
      };
    } catch (error) {
      if ((error as Error).name === 'NoSuchEntityException' || (error as Error).name === 'NoSuchEntity')
        return {};
      throw new Error(`iam:GetAccessKeyLastUsed for key ${accessKeyId}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
}

/** The decoy keys that exist now (pending, active, retiring), from the registry. */
export function decoyKeys(view: RegistryView | undefined): DecoyKey[] {
  if (!view) return [];
  const user = view.resources.find((d) => d.kind === 'iam-user');
  const keyDecoy = view.resources.find((d) => d.kind === 'iam-access-key');
  if (!user || !keyDecoy) return [];
  const live = new Set(keyDecoy.accessKeyIds ?? []);
  return view.accessKeys
    .filter((k) => live.has(k.accessKeyId))
    .map((k) => ({
      accessKeyId: k.accessKeyId,
      userName: k.userName,
      userArn: user.arn,
      resourceName: keyDecoy.name,
    }));
}

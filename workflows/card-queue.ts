/**
 * Activities of the card-data worker, proxied on its task queue. Only that worker holds card data and
 * provider credentials; its queue name arrives in each workflow's input (workflows never read env).
 */
import { proxyActivities, type ActivityInterface, type ActivityOptions } from '@temporalio/workflow';

export function onCardQueue<A extends ActivityInterface>(taskQueue: string, opts: ActivityOptions) {
  return proxyActivities<A>({ ...opts, taskQueue });
}

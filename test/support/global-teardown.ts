export default async function globalTeardown(): Promise<void> {
  const fn = (globalThis as Record<string, unknown>).__settleTeardown as (() => Promise<void>) | undefined;
  if (fn) await fn();
}

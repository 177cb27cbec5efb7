/**
 * Integration setup (jest setupFilesAfterEnv): after each test file, stop any stack it left running,
 * e.g. when a hook timed out before its afterAll could stop it (see stopAllStacks in stack.ts).
 */
import { stopAllStacks } from './stack';

afterAll(() => stopAllStacks(), 120_000);

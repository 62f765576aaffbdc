import { describeForwardChecks } from './forward-check.ts';

describeForwardChecks('qwen3');

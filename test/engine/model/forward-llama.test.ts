import { describeForwardChecks } from './forward-check.ts';

describeForwardChecks('llama');

import { describeForwardChecks } from './forward-check.ts';

describeForwardChecks('ernie4_5');

export { createSelfTest, pickFault, type SelfTestOptions } from './fault-injector.js';
export { SelfTestFault, SelfTestFaultKind, SelfTestFaultList } from './schema.js';

export { RecordStore, SCHEMA_VERSION, checkSchema } from './records.js';

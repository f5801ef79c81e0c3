/**
 * The heavy dependencies berth-wrap needs only for some runs: the AWS SDK clients (AWS secrets)
 * and the yaml parser. Load them with `import('./lazy-deps.js')` only when needed. In the bundle,
 * this module is embedded compressed and evaluated on first import (see scripts/build-wrapper.mjs),
 * so a run that uses no AWS secret does not pay for parsing the SDK.
 */
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
export { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
export { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
export { parse as parseYaml } from 'yaml';

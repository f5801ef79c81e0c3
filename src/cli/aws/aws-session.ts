/**
 * The operator's AWS access for the setup wizard: one region, the default credential chain or a
 * named profile, optionally a stand-in endpoint. Credentials are resolved by the SDK and stay in
 * memory; nothing here writes them anywhere.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromIni, fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { CliError } from '../errors.js';

export interface AwsSessionOptions {
  region: string;
  /** A named profile; null: the default credential chain. */
  profile: string | null;
  /** Every call goes here instead of AWS (a stand-in such as moto). */
  endpointUrl?: string | null | undefined;
}

export interface CallerIdentity {
  account: string;
  /** e.g. arn:aws:iam::123456789012:user/alice or arn:aws:sts::…:assumed-role/Admin/alice */
  arn: string;
  /** aws, aws-cn, aws-us-gov… (from the ARN) */
  partition: string;
}

type CredentialProvider = ReturnType<typeof fromNodeProviderChain>;

/** A short message for an AWS SDK error: its name and message, without the stack. */
export function awsErrorMessage(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
    return `${name}${error.message.split('\n')[0]}`;
  }
  return String(error);
}

/** Runs one AWS call; a failure becomes a CliError that says which call failed. */
export async function awsCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`AWS ${what} failed: ${awsErrorMessage(error)}`, { cause: error });
  }
}

export class AwsSession {
  readonly cfn: CloudFormationClient;
  readonly ec2: EC2Client;
  readonly ecs: ECSClient;
  readonly logs: CloudWatchLogsClient;
  readonly sts: STSClient;
  private readonly credentials: CredentialProvider;

  constructor(readonly options: AwsSessionOptions) {
    this.credentials = options.profile ? fromIni({ profile: options.profile }) : fromNodeProviderChain();
    const config = {
      region: options.region,
      credentials: this.credentials,
      ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
    };
    this.cfn = new CloudFormationClient(config);
    this.ec2 = new EC2Client(config);
    this.ecs = new ECSClient(config);
    this.logs = new CloudWatchLogsClient(config);
    this.sts = new STSClient(config);
  }

  /** Who the credentials belong to (STS GetCallerIdentity); throws a CliError that says how to fix it. */
  async identity(): Promise<CallerIdentity> {
    try {
      const id = await this.sts.send(new GetCallerIdentityCommand({}));
      if (!id.Account || !id.Arn) throw new Error('GetCallerIdentity answered without an account');
      return { account: id.Account, arn: id.Arn, partition: id.Arn.split(':')[1] ?? 'aws' };
    } catch (error) {
      const source = this.options.profile ? `the profile "${this.options.profile}"` : 'the default credential chain';
      throw new CliError(
        `cannot use the AWS credentials of ${source}: ${awsErrorMessage(error)}. ` +
          'Sign in (aws sso login, aws configure) or choose another profile.',
        { cause: error },
      );
    }
  }

  /**
   * The resolved key id, secret and session token, only so that the caller can check it never
   * writes them (the state file); never print or store these.
   */
  async secretValues(): Promise<string[]> {
    try {
      const c = await this.credentials();
      return [c.accessKeyId, c.secretAccessKey, c.sessionToken].filter((v): v is string => typeof v === 'string' && v.length >= 4);
    } catch {
      return [];
    }
  }

  destroy(): void {
    for (const client of [this.cfn, this.ec2, this.ecs, this.logs, this.sts]) client.destroy();
  }
}

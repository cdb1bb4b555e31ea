/**
 * Fidelity rules for rds replicas across regions: see fidelity.ts for the mechanism, and docs/emulator-support.md for
 * the table.
 *
 * moto (5.2) makes a read replica as a copy of its source, whatever the region: a cross-region replica of an encrypted
 * source is created without a key of its own region, encrypted with the source's key (another region's), and a key
 * of a third region is taken as given. RDS refuses both.
 */
import { kept, type FidelityCall, type FidelityRule, type FidelityState } from './fidelity-rule';

const RULE = 'rds-cross-region-encrypted-replica';

/** Region and identifier of an instance: the key of the rule's map. */
const key = (region: string, id: string) => `${region}\u0000${id.toLowerCase()}`;

/** The instances the rule saw created (through the proxy): their KMS key, or '' when unencrypted. Others are unknown to it. */
const encryptedOf = (state: FidelityState) => kept(state, RULE, () => new Map<string, string>());

/** Region and identifier a source reference names: an ARN names its region, a bare identifier the request's. */
function sourceOf(call: FidelityCall, ref: string): { region: string; id: string } {
  const arn = /^arn:[^:]+:rds:([^:]+):[^:]*:db:(.+)$/.exec(ref);
  return arn ? { region: arn[1], id: arn[2] } : { region: call.info.region, id: ref };
}

/** The region a KMS key ARN or alias ARN names; undefined for a key id or alias name (resolved in the request's region). */
const kmsRegion = (keyId: string) => /^arn:[^:]+:kms:([^:]+):/.exec(keyId)?.[1];

export const RDS_REPLICA_FIDELITY_RULES: readonly FidelityRule[] = [
  {
    id: RULE,
    source: {
      url: 'https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html',
      says: "KmsKeyId: If you create an encrypted read replica in a different AWS Region, then you must specify a KMS key identifier for the destination AWS Region. KMS keys are specific to the AWS Region that they are created in, and you can't use KMS keys from one AWS Region in another AWS Region. You can't create an encrypted read replica from an unencrypted DB instance. (RDS answers InvalidParameterCombination, \"Cannot create a cross region unencrypted read replica from encrypted source.\"; KMSKeyNotAccessibleFault: \"An error occurred accessing an AWS KMS key.\")",
    },
    service: 'rds',
    operations: ['CreateDBInstance', 'CreateDBInstanceReadReplica', 'ModifyDBInstance', 'DeleteDBInstance'],
    refuse(call, state) {
      if (call.info.operation !== 'CreateDBInstanceReadReplica') return undefined;
      const ref = call.param('SourceDBInstanceIdentifier');
      if (!ref) return undefined;
      const source = sourceOf(call, ref);
      if (source.region === call.info.region) return undefined;
      const sourceKey = encryptedOf(state).get(key(source.region, source.id));
      const keyId = call.param('KmsKeyId');
      if (sourceKey === undefined) return undefined;
      if (sourceKey && !keyId) return { status: 400, code: 'InvalidParameterCombination', message: 'Cannot create a cross region unencrypted read replica from encrypted source.' };
      if (!sourceKey && keyId) return { status: 400, code: 'InvalidParameterCombination', message: "You can't create an encrypted read replica from an unencrypted DB instance." };
      const region = keyId ? kmsRegion(keyId) : undefined;
      if (region && region !== call.info.region) return { status: 400, code: 'KMSKeyNotAccessibleFault', message: `An error occurred accessing an AWS KMS key: ${keyId} is a key of ${region}, not of ${call.info.region}.` };
      return undefined;
    },
    observe(call, state) {
      const encrypted = encryptedOf(state);
      const id = call.param('DBInstanceIdentifier');
      if (!id) return;
      const here = key(call.info.region, id);
      switch (call.info.operation) {
        case 'CreateDBInstance':
          encrypted.set(here, call.param('StorageEncrypted') === 'true' ? (call.param('KmsKeyId') ?? 'alias/aws/rds') : '');
          break;
        case 'CreateDBInstanceReadReplica': {
          const ref = call.param('SourceDBInstanceIdentifier');
          const source = ref ? sourceOf(call, ref) : undefined;
          // Same region: the source's key ("always encrypted with the same KMS key as the source"); across regions: the one given.
          const sourceKey = source ? encrypted.get(key(source.region, source.id)) : undefined;
          if (sourceKey === undefined) encrypted.delete(here);
          else encrypted.set(here, source && source.region !== call.info.region ? (call.param('KmsKeyId') ?? '') : sourceKey);
          break;
        }
        case 'ModifyDBInstance': {
          const renamed = call.param('NewDBInstanceIdentifier');
          const keyId = encrypted.get(here);
          if (renamed && keyId !== undefined) {
            encrypted.delete(here);
            encrypted.set(key(call.info.region, renamed), keyId);
          }
          break;
        }
        case 'DeleteDBInstance':
          encrypted.delete(here);
          break;
      }
    },
  },
];

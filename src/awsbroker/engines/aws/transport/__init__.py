"""The one place the engine meets AWS, and the only code that imports boto3 or botocore (an
import-linter contract keeps it so).

- api.py: the IAM and STS operations the engine calls, as typed protocols;
- clients.py: the factory of every client (the mount's, signed with a given key, on AssumeRole
  credentials); boto.py builds boto3's, light_iam.py and light_sts.py the light ones;
- endpoints.py: `ClientSpec`s from `config/root`, and its region and endpoint checks;
- errors.py: AWS failures and the broker errors they become;
- propagation.py: the wait for IAM to accept a new key;
- metrics.py: every call counted and timed;
- emulator_seed.py: the IAM users and role `server --dev --dev-aws-emulator` creates in moto
  (a dev tool's boto3 calls, kept here with the rest).
"""

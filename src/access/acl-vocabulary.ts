// The words of S3 ACLs that both authorization (access/) and the ACL operations (ops/) use: the
// predefined groups and the x-amz-grant-* headers with the permission each grants.
export const allUsersUri = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const authenticatedUsersUri = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
export const logDeliveryUri = 'http://acs.amazonaws.com/groups/s3/LogDelivery';

export const grantHeaders = {
  'x-amz-grant-read': 'READ',
  'x-amz-grant-write': 'WRITE',
  'x-amz-grant-read-acp': 'READ_ACP',
  'x-amz-grant-write-acp': 'WRITE_ACP',
  'x-amz-grant-full-control': 'FULL_CONTROL',
} as const;

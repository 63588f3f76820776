// The Microsoft Graph application permissions of jitpim's managed identity,
// as app role assignments on the Microsoft Graph service principal. This is
// the admin consent step; whoever deploys it needs
// AppRoleAssignment.ReadWrite.All + Application.Read.All (in practice a
// Privileged Role Administrator). The identity is Tier 0: see README
// "Graph permissions" for what each one is for.
extension microsoftGraphV1

@description('Object id of the Function App\'s system-assigned identity.')
param identityPrincipalId string
@description('Mail.Send: notifications and e-mail approvals.')
param enableMail bool
@description('AuditLog.Read.All: sign-in logs and signInActivity (Entra ID P1/P2).')
param enableSignInLogs bool

resource graphSp 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000' // Microsoft Graph
}

var required = [
  'RoleManagement.ReadWrite.Directory' // activate/deactivate directory roles (as strong as Global Administrator)
  'GroupMember.ReadWrite.All' // PIM for Groups: add and remove members
  'User.Read.All' // resolve requesters, approvers, managers; count users
]
var optional = concat(enableMail ? [ 'Mail.Send' ] : [], enableSignInLogs ? [ 'AuditLog.Read.All' ] : [])

// Role ids are looked up by name on the tenant's Graph service principal,
// so no GUID can silently name the wrong permission.
resource grants 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [for p in concat(required, optional): {
  principalId: identityPrincipalId
  resourceId: graphSp.id
  appRoleId: filter(graphSp.appRoles, r => r.value == p)[0].id
}]

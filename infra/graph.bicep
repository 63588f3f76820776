// The two Entra app registrations jitpim needs, as Microsoft Graph Bicep
// resources (extension alias in bicepconfig.json):
//  - the API: callers get access tokens for it (audience = its client id,
//    v2 tokens) through the delegated scope access_as_user;
//  - the approval sign-in web app: approvers sign in at
//    {publicUrl}/api/approvals/callback (authorization code flow).
// Its client secret cannot be declared here (Bicep would put it in the
// deployment history); infra/secrets.sh creates it straight into Key Vault.
extension microsoftGraphV1

param name string
param publicUrl string

// uniqueName makes the declaration idempotent: a redeploy updates the same
// registration instead of creating another.
var apiScopeId = guid(resourceGroup().id, name, 'access_as_user')

resource api 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: '${name}-api'
  displayName: 'jitpim API (${name})'
  signInAudience: 'AzureADMyOrg'
  // api://{tenant id}/{name} satisfies the default app id URI policy
  // (tenant-scoped, no verified domain needed).
  identifierUris: [ 'api://${tenant().tenantId}/${name}' ]
  api: {
    // v1.0 access tokens: only they carry amr ("mfa"), which jitpim's MFA
    // rules read (acrs is in both); their issuer is sts.windows.net.
    requestedAccessTokenVersion: 1
    oauth2PermissionScopes: [
      {
        id: apiScopeId
        value: 'access_as_user'
        type: 'User'
        isEnabled: true
        adminConsentDisplayName: 'Use jitpim as the signed-in user'
        adminConsentDescription: 'Request, approve and administer privileged access in jitpim as the signed-in user; jitpim enforces its own policies.'
        userConsentDisplayName: 'Use jitpim as you'
        userConsentDescription: 'Request and approve privileged access in jitpim as you.'
      }
    ]
  }
}

resource apiSp 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: api.appId
  // Any user of the tenant may get a token; jitpim's policies decide
  // what they may do. Set true to limit it to assigned users and groups.
  appRoleAssignmentRequired: false
}

resource web 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: '${name}-web'
  displayName: 'jitpim approvals sign-in (${name})'
  signInAudience: 'AzureADMyOrg'
  web: {
    redirectUris: [ '${publicUrl}/api/approvals/callback' ]
    implicitGrantSettings: { enableIdTokenIssuance: false, enableAccessTokenIssuance: false }
  }
  // openid + profile on Microsoft Graph: sign-in only.
  requiredResourceAccess: [
    {
      resourceAppId: '00000003-0000-0000-c000-000000000000'
      resourceAccess: [
        { id: '37f7f235-527c-4136-accd-4a02d197296e', type: 'Scope' } // openid
        { id: '14dad69e-099b-42c9-810b-d002981feec1', type: 'Scope' } // profile
      ]
    }
  ]
}

resource webSp 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: web.appId
}

output apiClientId string = api.appId
output apiIdentifierUri string = 'api://${tenant().tenantId}/${name}'
output webClientId string = web.appId

// jitpim on Azure Functions Flex Consumption (FC1), custom handler, with no
// stored keys: the app's system-assigned managed identity reaches storage,
// Key Vault and Microsoft Graph; the storage account refuses shared keys.
//
// Deploy into an empty resource group (README "Deployment on Azure"):
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
//   make package && az functionapp deployment source config-zip -g <rg> -n <app> --src dist/jitpim.zip
// graph.bicep (a module) declares both app registrations; graph-permissions.bicep
// (a module) gives the app's identity its Graph application permissions.
// Two files because the app settings need the registrations' client ids
// and the permissions need the app's identity. The deploying user needs
// Entra rights too (README lists them).
//
// Timers: this template defines no schedule of its own. The
// functions/*/function.json bindings read "%JITPIM_*_SCHEDULE%" and the
// values below are those app settings; change them here, nowhere else.

targetScope = 'resourceGroup'

@description('Base name for the resources (letters and digits).')
@minLength(3)
@maxLength(18)
param name string = 'jitpim${take(uniqueString(resourceGroup().id), 8)}'
param location string = resourceGroup().location

@description('Object id of the group whose members administer jitpim.')
param adminGroupId string
@description('Comma-separated object ids of the break-glass accounts.')
param breakGlassIds string
@description('Mailbox (UPN or object id) notifications are sent from; empty turns mail off.')
param mailSender string = ''
@description('Addresses for the policies\' Admin notifications, comma-separated.')
param adminMail string = ''

@description('Grant Mail.Send (mail notifications and e-mail approvals). Scope it to the sender mailbox with an Exchange application access policy.')
param enableMail bool = !empty(mailSender)
@description('Grant AuditLog.Read.All (sign-in logs and signInActivity for break-glass checks and alerts; needs Entra ID P1/P2).')
param enableSignInLogs bool = true

@description('NCRONTAB schedules of the timers (6 fields, UTC). The function.json files read them as %JITPIM_*_SCHEDULE%.')
param sweepSchedule string = '0 */1 * * * *'
param reminderSchedule string = '0 0 8 * * *'
param breakGlassSchedule string = '0 */5 * * * *'
param alertSchedule string = '0 0 6 * * *'
param reviewSchedule string = '0 0 7 * * *'

@description('ServiceNow instance URL; empty leaves the integration off.')
param serviceNowUrl string = ''
param serviceNowUser string = ''

@allowed([2048, 4096])
param instanceMemoryMB int = 2048
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

var storageName = take(toLower(replace('${name}st', '-', '')), 24)
// Flex reads the package from this container; the host's own blobs
// (timer leases, keys) live in azure-webjobs-* containers of the same account.
var deploymentContainer = 'app-package'
var publicUrl = 'https://${name}.azurewebsites.net'

// Built-in role definition ids (Azure RBAC), named here because a GUID
// alone says nothing. infra/infra_test.go checks each is assigned.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Flex deployment container and host storage (leases, keys)
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // jitpim's state tables
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6' // read secret values for Key Vault references
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb' // send telemetry with Entra auth instead of the ikey alone
}

// ---------------------------------------------------------------- monitoring
resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${name}-law'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 90
  }
}

// Workspace-based Application Insights (classic is retired).
resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-ai'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'other'
    WorkspaceResourceId: workspace.id
    // Only Entra-authenticated telemetry (the app's identity) is accepted.
    DisableLocalAuth: true
  }
}

// ------------------------------------------------------------------- storage
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // No account keys: every caller authenticates with Entra ID.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
  properties: { publicAccess: 'None' }
}

// ----------------------------------------------------------------- key vault
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: take('${name}-kv', 24)
  location: location
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    // Azure RBAC, not access policies: access is a role assignment that
    // shows up (and can be reviewed) like every other.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

// Key Vault reference for a secret that graph-permissions.sh / the runbook
// puts in the vault; the versionless URI follows rotations.
var kvRef = '@Microsoft.KeyVault(VaultName=${vault.name};SecretName='

// ------------------------------------------------------------- function app
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${name}-plan'
  location: location
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the system-assigned identity.
    keyVaultReferenceIdentity: 'SystemAssigned'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // Custom handler: host.json starts bin/jitpim. Flex takes the runtime
      // here, not from FUNCTIONS_WORKER_RUNTIME.
      runtime: { name: 'custom', version: '1.0' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        // Identity-based host storage: no connection string, no key.
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
        // v1.0 access tokens (graph.bicep): issuer sts.windows.net, audience the app id URI.
        { name: 'JITPIM_OIDC_ISSUER', value: 'https://sts.windows.net/${tenant().tenantId}/' }
        { name: 'JITPIM_OIDC_JWKS_URL', value: '${environment().authentication.loginEndpoint}${tenant().tenantId}/discovery/keys' }
        { name: 'JITPIM_OIDC_AUDIENCE', value: graph.outputs.apiIdentifierUri }
        { name: 'JITPIM_GRAPH_MANAGED_IDENTITY', value: 'true' }
        { name: 'JITPIM_ADMIN_GROUP_ID', value: adminGroupId }
        { name: 'JITPIM_BREAK_GLASS_IDS', value: breakGlassIds }
        { name: 'JITPIM_MAIL_SENDER', value: mailSender }
        { name: 'JITPIM_ADMIN_MAIL', value: adminMail }
        { name: 'JITPIM_MFA_FRESHNESS', value: '15m' }
        { name: 'JITPIM_APPROVER_MFA', value: 'true' }
        { name: 'JITPIM_PUBLIC_URL', value: publicUrl }
        { name: 'JITPIM_WEB_CLIENT_ID', value: graph.outputs.webClientId }
        // Timer schedules (read by function.json as %JITPIM_*_SCHEDULE%).
        { name: 'JITPIM_SWEEP_SCHEDULE', value: sweepSchedule }
        { name: 'JITPIM_REMINDER_SCHEDULE', value: reminderSchedule }
        { name: 'JITPIM_BREAKGLASS_SCHEDULE', value: breakGlassSchedule }
        { name: 'JITPIM_ALERT_SCHEDULE', value: alertSchedule }
        { name: 'JITPIM_REVIEW_SCHEDULE', value: reviewSchedule }
        // Secrets: Key Vault references only; the values never pass
        // through this template or its deployment history.
        { name: 'JITPIM_LINK_KEYS', value: '${kvRef}jitpim-link-keys)' }
        { name: 'JITPIM_COOKIE_KEYS', value: '${kvRef}jitpim-cookie-keys)' }
        { name: 'JITPIM_WEB_CLIENT_SECRET', value: '${kvRef}jitpim-web-client-secret)' }
        { name: 'JITPIM_SERVICENOW_URL', value: serviceNowUrl }
        { name: 'JITPIM_SERVICENOW_USER', value: serviceNowUser }
        { name: 'JITPIM_SERVICENOW_PASSWORD', value: empty(serviceNowUrl) ? '' : '${kvRef}jitpim-servicenow-password)' }
        { name: 'JITPIM_SERVICENOW_WEBHOOK_SECRETS', value: empty(serviceNowUrl) ? '' : '${kvRef}jitpim-servicenow-webhook-secrets)' }
      ]
    }
  }
}

// Basic (user name + password) publishing off for FTP and SCM: deployments
// go through Entra-authenticated ARM only.
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'ftp'
  properties: { allow: false }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'scm'
  properties: { allow: false }
}

// ------------------------------------------------- the identity's data roles
// Exactly these, each at the narrowest scope that works. No Queue role:
// jitpim has only HTTP and timer triggers, and the host keeps timer leases
// and keys in blobs.
resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, app.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, app.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// ------------------------------------------------------------ Entra (Graph)
module graph 'graph.bicep' = {
  name: 'jitpim-graph-apps'
  params: {
    name: name
    publicUrl: publicUrl
  }
}

module graphPermissions 'graph-permissions.bicep' = {
  name: 'jitpim-graph-permissions'
  params: {
    identityPrincipalId: app.identity.principalId
    enableMail: enableMail
    enableSignInLogs: enableSignInLogs
  }
}

output functionAppName string = app.name
output publicUrl string = publicUrl
output keyVaultName string = vault.name
output storageAccountName string = storage.name
output managedIdentityObjectId string = app.identity.principalId
output apiClientId string = graph.outputs.apiClientId
output webClientId string = graph.outputs.webClientId

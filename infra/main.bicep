// jitpim on Azure Functions (Linux, Consumption, custom handler).
// Deploy: az deployment group create -g <rg> -f infra/main.bicep -p oidcIssuer=... oidcAudience=... adminGroupId=... breakGlassIds=...
// then: make package && az functionapp deployment source config-zip -g <rg> -n <app> --src dist/jitpim.zip
// After deployment, grant the app's managed identity the Graph application
// permissions listed in README.md (an admin consent step; it is Tier 0).

@description('Base name for the resources.')
param name string = 'jitpim${uniqueString(resourceGroup().id)}'
param location string = resourceGroup().location

@description('Accepted token issuer, e.g. https://login.microsoftonline.com/<tenant id>/v2.0')
param oidcIssuer string
@description('API audience (app id URI or client id of the jitpim API registration).')
param oidcAudience string
@description('Object id of the group whose members administer jitpim.')
param adminGroupId string
@description('Comma-separated object ids of the break-glass accounts.')
param breakGlassIds string
@description('Mailbox (UPN or object id) notifications are sent from.')
param mailSender string = ''
param sweepSchedule string = '0 */1 * * * *'
param reminderSchedule string = '0 0 8 * * *'
param breakGlassSchedule string = '0 */5 * * * *'
param alertSchedule string = '0 0 6 * * *'
param reviewSchedule string = '0 0 7 * * *'
@description('Public https base URL of the app (links in mails), e.g. https://<name>.azurewebsites.net')
param publicUrl string = 'https://${name}.azurewebsites.net'
@description('Client id of the app registration approvers sign in to (redirect URI {publicUrl}/api/approvals/callback).')
param webClientId string
@description('Key Vault secret URIs (not values): approval link keys, cookie keys, web client secret, ServiceNow secrets.')
param linkKeysSecretUri string
param cookieKeysSecretUri string
param webClientSecretUri string = ''
param serviceNowUrl string = ''
param serviceNowUser string = ''
param serviceNowPasswordSecretUri string = ''
param serviceNowWebhookSecretsUri string = ''
@description('Addresses for the policies\' Admin notifications, comma-separated.')
param adminMail string = ''

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(toLower(replace(name, '-', '')), 24)
  location: location
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-ai'
  location: location
  kind: 'web'
  properties: { Application_Type: 'other' }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${name}-plan'
  location: location
  sku: { name: 'Y1', tier: 'Dynamic' }
  kind: 'linux'
  properties: { reserved: true }
}

var storageConnection = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: name
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: ''
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      appSettings: [
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'Custom' }
        { name: 'AzureWebJobsStorage', value: storageConnection }
        { name: 'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING', value: storageConnection }
        { name: 'WEBSITE_CONTENTSHARE', value: toLower(name) }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'JITPIM_OIDC_ISSUER', value: oidcIssuer }
        { name: 'JITPIM_OIDC_AUDIENCE', value: oidcAudience }
        { name: 'JITPIM_GRAPH_MANAGED_IDENTITY', value: 'true' }
        { name: 'JITPIM_ADMIN_GROUP_ID', value: adminGroupId }
        { name: 'JITPIM_BREAK_GLASS_IDS', value: breakGlassIds }
        { name: 'JITPIM_MAIL_SENDER', value: mailSender }
        { name: 'JITPIM_SWEEP_SCHEDULE', value: sweepSchedule }
        { name: 'JITPIM_MFA_FRESHNESS', value: '15m' }
        { name: 'JITPIM_APPROVER_MFA', value: 'true' }
        { name: 'JITPIM_REMINDER_SCHEDULE', value: reminderSchedule }
        { name: 'JITPIM_BREAKGLASS_SCHEDULE', value: breakGlassSchedule }
        { name: 'JITPIM_ALERT_SCHEDULE', value: alertSchedule }
        { name: 'JITPIM_REVIEW_SCHEDULE', value: reviewSchedule }
        { name: 'JITPIM_PUBLIC_URL', value: publicUrl }
        { name: 'JITPIM_WEB_CLIENT_ID', value: webClientId }
        { name: 'JITPIM_ADMIN_MAIL', value: adminMail }
        // Secrets come from Key Vault references; grant the app's identity "get" on the secrets.
        { name: 'JITPIM_LINK_KEYS', value: '@Microsoft.KeyVault(SecretUri=${linkKeysSecretUri})' }
        { name: 'JITPIM_COOKIE_KEYS', value: '@Microsoft.KeyVault(SecretUri=${cookieKeysSecretUri})' }
        { name: 'JITPIM_WEB_CLIENT_SECRET', value: empty(webClientSecretUri) ? '' : '@Microsoft.KeyVault(SecretUri=${webClientSecretUri})' }
        { name: 'JITPIM_SERVICENOW_URL', value: serviceNowUrl }
        { name: 'JITPIM_SERVICENOW_USER', value: serviceNowUser }
        { name: 'JITPIM_SERVICENOW_PASSWORD', value: empty(serviceNowPasswordSecretUri) ? '' : '@Microsoft.KeyVault(SecretUri=${serviceNowPasswordSecretUri})' }
        { name: 'JITPIM_SERVICENOW_WEBHOOK_SECRETS', value: empty(serviceNowWebhookSecretsUri) ? '' : '@Microsoft.KeyVault(SecretUri=${serviceNowWebhookSecretsUri})' }
      ]
    }
  }
}

output functionAppName string = app.name
output managedIdentityObjectId string = app.identity.principalId

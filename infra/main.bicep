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
      ]
    }
  }
}

output functionAppName string = app.name
output managedIdentityObjectId string = app.identity.principalId

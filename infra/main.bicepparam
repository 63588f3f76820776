using 'main.bicep'

// Fill in before the first deploy (README "Deployment on Azure").
param adminGroupId = '00000000-0000-0000-0000-000000000000'
param breakGlassIds = ''
param mailSender = ''

package wire

// AzureRoleReviewQuery is the resource scope query of an access review of
// an Azure role at an Azure scope (queryType ARM): the role definition's
// resource id below that scope. The server writes it, and the policy
// file compares its plan with what the server wrote, so both build it here.
func AzureRoleReviewQuery(scope, roleDefinitionID string) string {
	return scope + "/providers/Microsoft.Authorization/roleDefinitions/" + roleDefinitionID
}

package domain

import (
	"strings"
	"testing"
)

func TestCheckGroupPrincipal(t *testing.T) {
	ga := RoleTarget(RoleGlobalAdministrator, TenantScope)
	god := Group{ID: "6756a9c9-c7e3-4b68-9883-5dbadb50b0e6", DisplayName: "God Mode", IsAssignableToRole: true}
	staff := Group{ID: "b5f2f07d-5ab3-4e1b-87e9-f9579b6504b5", DisplayName: "All Staff"}
	tests := []struct {
		name   string
		g      Group
		t      Target
		a      Action
		wantOK bool
		msg    string
	}{
		{"eligible for a role", god, ga, ActionAdminAssign, true, ""},
		{"removed from a role", god, ga, ActionAdminRemove, true, ""},
		{"extended", god, ga, ActionAdminExtend, true, ""},
		{"not role-assignable", staff, ga, ActionAdminAssign, false, "All Staff is not a role-assignable group"},
		{"group membership", god, GroupTarget(staff.ID, AccessMember), ActionAdminAssign, false, "directory roles only"},
		{"Azure role", god, AzureRoleTarget(RoleGlobalAdministrator, "/subscriptions/8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57"), ActionAdminAssign, false, "directory roles only"},
		{"self-activation", god, ga, ActionSelfActivate, false, "cannot selfActivate"},
		{"self-extension", god, ga, ActionSelfExtend, false, "cannot selfExtend"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckGroupPrincipal(tc.g, tc.t, tc.a)
			if (err == nil) != tc.wantOK {
				t.Fatalf("err = %v, want ok=%v", err, tc.wantOK)
			}
			if err != nil && (!IsCode(err, CodeInvalid) || !strings.Contains(err.Error(), tc.msg)) {
				t.Fatalf("err = %v, want invalid naming %q", err, tc.msg)
			}
		})
	}
}

#!/usr/bin/env bash
# secrets.sh puts jitpim's secrets into its Key Vault, the one thing the
# Bicep files cannot do without writing secret values into the deployment
# history: the approval links' and cookies' signing keys, and a client
# secret for the approval sign-in app registration. Run it after
# `az deployment group create` (README "Deployment on Azure"), and again
# to rotate: new keys go first, the previous ones stay for verification.
#
#   infra/secrets.sh <resource-group> [--rotate]
#
# Needs: az (signed in), openssl; the caller needs "Key Vault Secrets
# Officer" on the vault and the right to add credentials to the web app
# registration (its owner, or Application Administrator).
set -euo pipefail
rg=${1:?usage: infra/secrets.sh <resource-group> [--rotate]}
rotate=${2:-}

out() { az deployment group show -g "$rg" -n main --query "properties.outputs.$1.value" -o tsv; }
vault=$(out keyVaultName)
web=$(out webClientId)
app=$(out functionAppName)

# id:secret, 48 random bytes each (approvallink and weblogin need >= 32 characters).
newkey() { printf '%s:%s' "k$(date -u +%Y%m%d%H%M%S)" "$(openssl rand -base64 48 | tr -d '\n')"; }
current() { az keyvault secret show --vault-name "$vault" -n "$1" --query value -o tsv 2>/dev/null || true; }

for s in jitpim-link-keys jitpim-cookie-keys; do
  old=$(current "$s")
  if [[ -n "$old" && "$rotate" != "--rotate" ]]; then
    echo "$s: kept (pass --rotate to add a new signing key)"; continue
  fi
  # Keep at most the previous key, so links already mailed still verify
  # until they expire; the new key signs from now on.
  prev=${old%%,*}
  val=$(newkey)${prev:+,$prev}
  az keyvault secret set --vault-name "$vault" -n "$s" --value "$val" -o none
  echo "$s: new signing key set"
done

if [[ -z "$(current jitpim-web-client-secret)" || "$rotate" == "--rotate" ]]; then
  # --append keeps the old credential valid until it is removed by hand
  # after the app has picked up the new one.
  secret=$(az ad app credential reset --id "$web" --append --display-name "jitpim $(date -u +%F)" --years 1 --query password -o tsv)
  az keyvault secret set --vault-name "$vault" -n jitpim-web-client-secret --value "$secret" -o none
  echo "jitpim-web-client-secret: new client secret set (remove the old one with az ad app credential delete once the app runs on the new)"
fi

# Key Vault references are re-read on restart (and about daily otherwise).
az functionapp restart -g "$rg" -n "$app" -o none
echo "restarted $app"

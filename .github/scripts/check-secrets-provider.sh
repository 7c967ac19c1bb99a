#!/usr/bin/env bash
# Fails unless the stack file names the secrets provider the stack must use: prod encrypts its
# secrets with AWS KMS, never a passphrase or a provider chosen by accident.
# Usage: check-secrets-provider.sh dev|prod   (docs/operations.md, "First-time setup of a stack")
set -euo pipefail

stack="${1:?usage: $0 dev|prod}"
file="Pulumi.${stack}.yaml"
setup="docs/operations.md, \"First-time setup of a stack\""

if [[ ! -f "$file" ]]; then
  echo "::error::$file does not exist; see $setup"
  exit 1
fi

provider="$(sed -n 's/^secretsprovider:[[:space:]]*//p' "$file")"
case "$stack" in
  prod)
    if [[ "$provider" != awskms://* ]]; then
      echo "::error file=$file::the prod stack must encrypt its secrets with AWS KMS, but $file has secretsprovider '${provider:-<none>}'. Run: pulumi stack change-secrets-provider \"awskms://alias/<alias>?region=us-east-1\" --stack prod, and commit $file; see $setup"
      exit 1
    fi
    ;;
esac
echo "$file: secrets provider ${provider:-default (passphrase or Pulumi Cloud)}"

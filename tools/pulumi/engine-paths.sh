# Where the Pulumi engine of this checkout lives; sourced by bin/setup-tests.d/20-pulumi-engine.sh.
# automation/engine.ts computes the same paths (keep the two in step):
#   $PULUMI_ENGINE_HOME/bin/pulumi               the CLI, built once per version, shared by checkouts
#   $PULUMI_ENGINE_CHECKOUT/bin/pulumi           a hard link to it, next to this checkout's plugin shims
#   $PULUMI_ENGINE_CHECKOUT/bin/pulumi-resource-pulumi-nodejs, .../bin/pulumi-analyzer-policy-nodejs
# (<root>/bin/pulumi is the layout the Automation API's PulumiCommand.get({ root }) expects.)
# The shims run this checkout's node_modules/@pulumi/pulumi, so every checkout gets its own folder,
# named by a hash of the checkout's real path. The engine looks for its bundled dynamic-provider
# plugin next to its own (symlink-resolved) executable, hence a hard link and not a symlink.
PULUMI_ENGINE_ROOT=$(pwd -P)
PULUMI_ENGINE_VERSION=$(node -p 'require("./package.json").dependencies["@pulumi/pulumi"]')
PULUMI_ENGINE_CACHE=${AIRLOCK_CACHE_DIR:-/var/cache/airlock}
PULUMI_ENGINE_HOME=$PULUMI_ENGINE_CACHE/pulumi-v$PULUMI_ENGINE_VERSION
PULUMI_ENGINE_CHECKOUT=$PULUMI_ENGINE_HOME/checkouts/$(printf %s "$PULUMI_ENGINE_ROOT" | sha256sum | cut -c1-12)

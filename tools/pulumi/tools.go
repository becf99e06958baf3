//go:build tools

// The Pulumi CLI (engine) that the test suite runs, pinned to the same version as the npm
// @pulumi/pulumi dependency in package.json. Built by bin/setup-tests.d/20-pulumi-engine.sh; see
// /work/shared/reference/pulumi-engine.md and docs/automation.md.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"

"""Every function is invoked through its alias, which CodeDeploy moves (infra/releases.js).

These run the plugin's hook on a small compiled template; `make validate` packages every stage
with it and lints the result.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parent.parent
PLUGIN = INFRA / "releases.js"
# The plugin's hook on a stand-in for the framework: stdin {functions, declared, releases} ->
# stdout {template, targets: {function: its targetAlias}} or {error}
COMPILE = """
const plugin = require(process.argv[1]);
// The framework's names for PascalCase function keys (lib/plugins/aws/lib/naming.js).
const naming = {
  getNormalizedFunctionName: (key) => key,
  getLambdaLogicalId: (key) => `${key}LambdaFunction`,
  getLambdaVersionOutputLogicalId: (key) => `${key}LambdaFunctionQualifiedArn`,
};
const { functions, declared, releases } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const template = { Resources: {}, Outputs: { HttpApiId: { Value: { Ref: 'HttpApi' } } } };
for (const [key, fn] of Object.entries(functions)) {
  if (!fn.versionLogicalId) continue;
  template.Resources[fn.versionLogicalId] = {
    Type: 'AWS::Lambda::Version',
    DeletionPolicy: 'Retain',
    Properties: { FunctionName: { Ref: naming.getLambdaLogicalId(key) } },
  };
  template.Outputs[naming.getLambdaVersionOutputLogicalId(key)] = { Value: { Ref: fn.versionLogicalId } };
}
const serverless = {
  service: {
    functions,
    custom: { releases },
    resources: { Resources: declared },
    provider: { compiledCloudFormationTemplate: template },
  },
  getProvider: () => ({ naming }),
};
try {
  new plugin(serverless).hooks['after:package:compileFunctions']();
  const targets = Object.fromEntries(Object.entries(functions).map(([k, f]) => [k, f.targetAlias]));
  console.log(JSON.stringify({ template, targets }));
} catch (error) {
  console.log(JSON.stringify({ error: error.message }));
}
"""
FUNCTIONS = {
    "OrdersCreate": {"events": [{"httpApi": {"method": "POST", "path": "/orders"}}]},
    "OrdersProcess": {"events": [{"sqs": {"arn": "queue"}}]},
    "AdminSeed": {},
}
APPLICATION = {"Type": "AWS::CodeDeploy::Application", "Properties": {"ComputePlatform": "Lambda"}}


def compile_releases(provisioned=0, functions=None, groups=None) -> dict:
    node = shutil.which("node")
    assert node, "node is not installed: the Serverless CLI and these tests need it (see README)"
    functions = functions or {key: {**f, "versionLogicalId": f"{key}LambdaVersionAbc"} for key, f in FUNCTIONS.items()}
    groups = FUNCTIONS if groups is None else groups
    declared = {"CodeDeployApplication": APPLICATION}
    declared |= {f"{key}DeploymentGroup": {"Type": "AWS::CodeDeploy::DeploymentGroup"} for key in groups}
    releases = {"alias": "live", "application": "CodeDeployApplication", "provisionedConcurrency": provisioned}
    result = subprocess.run(
        [node, "-e", COMPILE, str(PLUGIN)],
        input=json.dumps({"functions": functions, "declared": declared, "releases": releases}),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def compiled() -> dict:
    return compile_releases()


def test_each_function_gets_an_alias_on_its_version_moved_by_its_deployment_group(compiled):
    resources = compiled["template"]["Resources"]
    aliases = {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Alias"}
    assert sorted(aliases) == sorted(f"{key}LambdaAlias" for key in FUNCTIONS)
    for key in FUNCTIONS:
        alias = aliases[f"{key}LambdaAlias"]
        assert alias["Properties"]["Name"] == "live"
        assert alias["Properties"]["FunctionName"] == {"Ref": f"{key}LambdaFunction"}
        assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [f"{key}LambdaVersionAbc", "Version"]}
        # CloudFormation waits for the CodeDeploy deployment and fails (rolls back) with it.
        assert alias["UpdatePolicy"] == {
            "CodeDeployLambdaAliasUpdate": {
                "ApplicationName": {"Ref": "CodeDeployApplication"},
                "DeploymentGroupName": {"Ref": f"{key}DeploymentGroup"},
            }
        }
        assert alias["DependsOn"] == [f"{key}DeploymentGroup"]


def test_every_trigger_the_framework_compiles_targets_the_alias(compiled):
    assert compiled["targets"] == {key: {"name": "live", "logicalId": f"{key}LambdaAlias"} for key in FUNCTIONS}


def test_replaced_versions_are_deleted_and_their_outputs_dropped(compiled):
    template = compiled["template"]
    versions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Version"]
    assert len(versions) == len(FUNCTIONS)
    assert all("DeletionPolicy" not in version for version in versions), "old versions would pile up"
    assert list(template["Outputs"]) == ["HttpApiId"], "the framework's version outputs stay out"


def test_provisioned_concurrency_only_on_http_aliases_and_only_when_set(compiled):
    def provisioned(result: dict) -> dict:
        return {
            key: r["Properties"]["ProvisionedConcurrencyConfig"]["ProvisionedConcurrentExecutions"]
            for key, r in result["template"]["Resources"].items()
            if "ProvisionedConcurrencyConfig" in r.get("Properties", {})
        }

    assert provisioned(compiled) == {}
    assert provisioned(compile_releases(provisioned=3)) == {"OrdersCreateLambdaAlias": 3}


def test_a_function_without_a_deployment_group_or_a_version_is_refused():
    missing = compile_releases(groups={"OrdersCreate": {}})
    assert missing["error"].startswith("releases: OrdersProcess has no deployment group OrdersProcessDeploymentGroup")
    unversioned = compile_releases(functions={"OrdersCreate": {}}, groups={"OrdersCreate": {}})
    assert unversioned["error"] == "releases: OrdersCreate has no version (provider.versionFunctions)"

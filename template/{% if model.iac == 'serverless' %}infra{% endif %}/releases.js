'use strict';

// Gradual releases: every function is invoked through an alias that CodeDeploy moves to each new
// version, and moves back when the function's errors alarm fires during the shift.
//
// Serverless v3 publishes a version per change of code or configuration (versionFunctions: a
// logical id ending in a hash of both) and, for a function with a `targetAlias`, points every
// trigger it compiles (HTTP API integration and permission, SQS event source mapping, EventBridge
// target and permission) at that alias. It has no setting for either, so once the functions are
// compiled, and before their events are, this plugin adds each function's alias on its version
// and sets the function's targetAlias. The alias carries the CodeDeployLambdaAliasUpdate policy:
// when its version changes, CloudFormation starts a CodeDeploy deployment with the function's
// deployment group (declared in serverless.yml as <function>DeploymentGroup), waits for the
// traffic shift and fails the stack update (rolling it back) when CodeDeploy rolls back.
//
// custom.releases: alias (its name), application (logical id of the CodeDeploy application),
// provisionedConcurrency (on the alias of each HTTP function when above 0).
class Releases {
  constructor(serverless) {
    this.serverless = serverless;
    this.provider = serverless.getProvider('aws');
    this.hooks = {
      'after:package:compileFunctions': () => this.compile(),
    };
  }

  compile() {
    const { service } = this.serverless;
    const { naming } = this.provider;
    const settings = service.custom.releases;
    const template = service.provider.compiledCloudFormationTemplate;
    const declared = (service.resources && service.resources.Resources) || {};
    if (!declared[settings.application]) {
      throw new Error(`releases: no resource ${settings.application} (the CodeDeploy application)`);
    }
    const provisioned = Number(settings.provisionedConcurrency) || 0;
    for (const [key, functionObject] of Object.entries(service.functions)) {
      const name = naming.getNormalizedFunctionName(key);
      const versionId = functionObject.versionLogicalId;
      if (!versionId) throw new Error(`releases: ${key} has no version (provider.versionFunctions)`);
      const group = `${name}DeploymentGroup`;
      if (!declared[group]) throw new Error(`releases: ${key} has no deployment group ${group}`);
      // A version no alias points at is deleted by the deploy that replaces it (the stack's
      // clean-up, once the shift is over): nothing calls it, and old ones would pile up.
      delete template.Resources[versionId].DeletionPolicy;
      // The framework's output of the version's ARN: nothing reads it, and at 200 outputs per
      // stack it would limit the number of functions.
      delete template.Outputs[naming.getLambdaVersionOutputLogicalId(key)];

      const http = (functionObject.events || []).some((event) => event.httpApi);
      const aliasId = `${name}LambdaAlias`;
      template.Resources[aliasId] = {
        Type: 'AWS::Lambda::Alias',
        DependsOn: [group],
        UpdatePolicy: {
          CodeDeployLambdaAliasUpdate: {
            ApplicationName: { Ref: settings.application },
            DeploymentGroupName: { Ref: group },
          },
        },
        Properties: {
          Name: settings.alias,
          FunctionName: { Ref: naming.getLambdaLogicalId(key) },
          FunctionVersion: { 'Fn::GetAtt': [versionId, 'Version'] },
          // Billed per hour for every instance kept warm, whether requests come or not.
          ...(http && provisioned > 0
            ? { ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: provisioned } }
            : {}),
        },
      };
      functionObject.targetAlias = { name: settings.alias, logicalId: aliasId };
    }
  }
}

module.exports = Releases;

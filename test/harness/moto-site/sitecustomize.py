# Loaded by the test harness's moto servers (PYTHONPATH, test/harness/servers.ts): makes moto's inventory,
# GET /moto-api/data.json, which the suite's secrets scan reads (SNS notifications, SQS messages, S3
# buckets), survive models with write-only properties. moto 5.2.5 skips an attribute whose getter raises
# TypeError, AttributeError or ValueError, but RDS's DBInstance.master_user_password and
# db_subnet_group_name raise NotImplementedError, so once a database exists the whole inventory answered
# 500; so did it once an S3 object had been deleted (its closed buffer). This skips any attribute that cannot be read. It also takes an optional `?models=s3.FakeBucket,...`
# to list only those models (the scan needs four; a moto full of CloudWatch datapoints takes seconds to
# list whole). And it answers RDS's ResetDBParameterGroup, which moto 5.2.5 lacks (below). Nothing else
# about moto changes.
import json
from urllib.parse import parse_qs, urlparse

from moto.moto_api._internal.responses import MotoAPIResponse


def _model_data(self, request, full_url, headers):
    from moto.core.model_instances import model_data

    wanted = None
    query = parse_qs(urlparse(full_url or "").query).get("models")
    if query:
        wanted = {m.strip() for m in query[0].split(",") if m.strip()}
    results = {}
    for service in sorted(model_data):
        models = model_data[service]
        results[service] = {}
        for name in sorted(models):
            if wanted is not None and f"{service}.{name}" not in wanted:
                continue
            model = models[name]
            results[service][name] = []
            for instance in model.instances_tracked:
                inst_result = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except Exception:
                        continue
                    inst_result[attr] = value
                results[service][name].append(inst_result)
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


MotoAPIResponse.model_data = _model_data


# ResetDBParameterGroup (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ResetDBParameterGroup.html):
# "Modifies the parameters of a DB parameter group to the engine/system default value. To reset specific parameters,
# provide a list of the following: ParameterName and ApplyMethod. To reset the entire DB parameter group, specify the
# DBParameterGroup name and ResetAllParameters parameters." moto keeps only the parameters a request set in a group
# (the engine's defaults are not listed), so a reset forgets them. The fence's read_only restore calls it
# (activities/engines.ts); the default groups' refusal is the proxy's fidelity rule rds-default-parameter-group.
from moto.core.responses import ActionResult  # noqa: E402
from moto.rds.exceptions import DBParameterGroupNotFoundError  # noqa: E402
from moto.rds.responses import RDSResponse  # noqa: E402


def _reset_db_parameter_group(self):
    name = self._get_param("DBParameterGroupName")
    groups = self.backend.describe_db_parameter_groups({"db_parameter_group_name": name})
    if not groups:
        raise DBParameterGroupNotFoundError(name)
    group = groups[0]
    if str(self._get_param("ResetAllParameters", "false")).lower() == "true":
        group.parameters.clear()
    else:
        for param in self.params.get("Parameters", []) or []:
            item = param.original_dict() if hasattr(param, "original_dict") else param
            group.parameters.pop(item.get("ParameterName"), None)
    return ActionResult({"DBParameterGroupName": group.name})


RDSResponse.reset_db_parameter_group = _reset_db_parameter_group

"""Shell scripts the EMR on EC2 constructs ship as S3 assets (bootstrap actions and steps).

The scripts live here as text and are written to a content-addressed temporary folder at synthesis, so
an installed wheel needs no data files and the asset hash (hence the template) only changes when a
script changes.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

#: Bootstrap action: installs the CloudWatch agent and ships node metrics and EMR logs.
#: Arguments: <log group name> <metrics namespace> <cluster label>.
CLOUDWATCH_AGENT_BOOTSTRAP = r"""#!/bin/bash
# meshworks: install and start the Amazon CloudWatch agent on every EMR node.
# usage: cloudwatch-agent.sh <log group> <metrics namespace> <cluster label>
set -euo pipefail
LOG_GROUP="$1"
NAMESPACE="$2"
CLUSTER="$3"
sudo yum install -y amazon-cloudwatch-agent
ROLE=core
if grep -q '"isMaster": *true' /mnt/var/lib/info/instance.json 2>/dev/null; then ROLE=master; fi
sudo tee /opt/aws/amazon-cloudwatch-agent/etc/meshworks.json >/dev/null <<EOF
{
  "agent": {"metrics_collection_interval": 60, "run_as_user": "root"},
  "metrics": {
    "namespace": "${NAMESPACE}",
    "append_dimensions": {"InstanceId": "\${aws:InstanceId}"},
    "aggregation_dimensions": [["Cluster", "NodeRole"]],
    "metrics_collected": {
      "mem": {"measurement": ["mem_used_percent"], "append_dimensions": {"Cluster": "${CLUSTER}", "NodeRole": "${ROLE}"}},
      "disk": {"measurement": ["used_percent"], "resources": ["/", "/mnt"], "append_dimensions": {"Cluster": "${CLUSTER}", "NodeRole": "${ROLE}"}}
    }
  },
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          {"file_path": "/emr/instance-controller/log/instance-controller.log", "log_group_name": "${LOG_GROUP}", "log_stream_name": "{instance_id}/instance-controller"},
          {"file_path": "/var/log/bootstrap-actions/**", "log_group_name": "${LOG_GROUP}", "log_stream_name": "{instance_id}/bootstrap-actions"},
          {"file_path": "/var/log/hadoop-yarn/*.log", "log_group_name": "${LOG_GROUP}", "log_stream_name": "{instance_id}/yarn"}
        ]
      }
    }
  }
}
EOF
sudo /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/meshworks.json
"""

#: EMR step (run on the master): starts a detached Flink YARN session with a fixed REST port and
#: registers the JobManager's private IP in the NLB target group.
#: Arguments: <target group ARN> <REST port> <region>.
FLINK_SESSION_STEP = r"""#!/bin/bash
# meshworks: start the long-running Flink session and put its REST endpoint behind the internal NLB.
# usage: flink-session.sh <target group arn> <rest port> <region>
set -euo pipefail
TARGET_GROUP="$1"
PORT="$2"
REGION="$3"
flink-yarn-session -d -nm meshworks-flink-session -Drest.port="${PORT}" -Drest.bind-port="${PORT}"
for attempt in $(seq 1 60); do
  APP_ID=$(yarn application -list -appStates RUNNING 2>/dev/null | awk '/meshworks-flink-session/ {print $1; exit}')
  if [ -n "${APP_ID}" ]; then
    HOST=$(yarn application -status "${APP_ID}" 2>/dev/null | awk -F' : ' '/AM Host/ {print $2; exit}')
    if [ -n "${HOST}" ] && [ "${HOST}" != "N/A" ]; then break; fi
  fi
  sleep 10
done
IP=$(getent hosts "${HOST}" | awk '{print $1; exit}')
aws elbv2 register-targets --region "${REGION}" --target-group-arn "${TARGET_GROUP}" --targets "Id=${IP},Port=${PORT}"
echo "Flink session ${APP_ID} on ${IP}:${PORT} registered in ${TARGET_GROUP}"
"""


def script_asset(scope: Construct, construct_id: str, filename: str, body: str) -> s3_assets.Asset:
    """An S3 asset holding one script; the file lives in a folder named after its content hash."""
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "meshworks-emr-scripts" / digest
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    if not path.exists() or path.read_text() != body:
        path.write_text(body)
    return s3_assets.Asset(scope, construct_id, path=str(path))

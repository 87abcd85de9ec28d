"""``SpokeProduct``: the share acceptor as an AWS Service Catalog product, in a hub portfolio shared with consumers.

GoDaddy's consumers onboarded by launching a Service Catalog product. This construct builds, in the
hub account, a portfolio shared with every consumer account and a product whose template (a CDK
``ProductStack``) deploys a :class:`~meshworks.constructs.mesh.share_acceptor.ShareAcceptor` that
trusts this hub. The consumer launches it and types only the principals to grant (parameter
``LocalPrincipalArns``, comma-separated) and, optionally, the resource-link prefix.

The product's Lambda code is an asset: CDK copies it into ``self.asset_bucket`` (a ``SecureBucket``
with a deterministic name, read access granted to the portfolio's accounts) so that launches in
other accounts can read it.

Example::

    from aws_cdk import App, Environment, Stack
    from aws_cdk import aws_iam as iam

    from meshworks.constructs.mesh import SpokeProduct

    app = App()
    stack = Stack(app, "Hub", env=Environment(account="111122223333", region="eu-west-1"))
    catalog_admins = iam.Role(stack, "CatalogAdmins", assumed_by=iam.AccountRootPrincipal())
    spoke = SpokeProduct(stack, "Spoke", hub_account_id=stack.account,
                         consumer_accounts=["444455556666"], asset_bucket_name="acme-sc-assets-111122223333")
    spoke.portfolio.give_access_to_role(catalog_admins)
    app.synth()
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, CfnParameter, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_servicecatalog as servicecatalog
from constructs import Construct

from meshworks.constructs.core.bucket_deployment import acknowledge_bucket_deployments
from meshworks.constructs.core.inputs import account_ids, whole_duration
from meshworks.constructs.core.platform_key import PlatformKey
from meshworks.constructs.mesh.share_acceptor import PREFIX_PATTERN, ShareAcceptor
from meshworks.constructs.storage.secure_bucket import SecureBucket

__all__ = ["AssetKey", "ShareAcceptorProductStack", "SpokeProduct"]


class AssetKey(PlatformKey):
    """The asset bucket's own key: what it grants to decrypt is limited to reads of that bucket through S3.

    The Service Catalog portfolio grants its accounts read access to the product's asset bucket
    (``bucket.grant_read``, which asks the key for ``grant_decrypt``). Here that grant becomes one
    key-policy statement with ``kms:ViaService`` = S3 of this region and the bucket as encryption
    context, so a consumer account can decrypt the product's code and nothing else.
    """

    def __init__(self, scope: Construct, construct_id: str, *, bucket_name: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._bucket_arn = f"arn:{Aws.PARTITION}:s3:::{bucket_name}"

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """A read grant (``kms:Decrypt``, ``kms:DescribeKey``: what ``bucket.grant_read`` asks) becomes the scoped statement."""
        if not set(actions) <= {"kms:Decrypt", "kms:DescribeKey"}:
            return super().grant(grantee, *actions)
        return self.grant_decrypt(grantee)

    def grant_decrypt(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to decrypt objects of the asset bucket, read through S3 only."""
        self.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DecryptProductAssetsThroughS3",
                principals=[grantee.grant_principal],
                actions=["kms:Decrypt"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{Stack.of(self).region}.amazonaws.com"},
                    "ArnLike": {"kms:EncryptionContext:aws:s3:arn": [self._bucket_arn, f"{self._bucket_arn}/*"]},
                },
            )
        )
        return iam.Grant.drop(grantee, "decrypt product assets (granted in the key policy, with conditions)")


class ShareAcceptorProductStack(servicecatalog.ProductStack):
    """The template consumers launch: a ``ShareAcceptor`` trusting ``hub_account_id``.

    Parameters: ``LocalPrincipalArns`` (comma-separated IAM role/user ARNs, may be empty) and
    ``ResourceLinkPrefix`` (default ``shared_``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        hub_account_id: str,
        asset_bucket: SecureBucket,
        schedule: Duration = Duration.minutes(30),
        sharing_mode: str = "lf_tags",
    ) -> None:
        super().__init__(scope, construct_id, asset_bucket=asset_bucket, description="meshworks spoke: share acceptor")
        principals = CfnParameter(
            self,
            "LocalPrincipalArns",
            type="String",
            default="",
            allowed_pattern=r"^(arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+(,arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+)*)?$",
            description="IAM roles/users of this account that may query the shared tables (comma-separated).",
        )
        prefix = CfnParameter(
            self,
            "ResourceLinkPrefix",
            type="String",
            default="shared_",
            allowed_pattern=PREFIX_PATTERN,
            description="Prefix of the local resource-link databases (a lowercase letter, then lowercase letters, "
            "digits and '_'; never empty: the acceptor may write only databases with this prefix).",
        )
        self.acceptor = ShareAcceptor(
            self,
            "ShareAcceptor",
            hub_account_id=hub_account_id,
            local_principal_arns=principals.value_as_string,
            resource_link_prefix=prefix.value_as_string,
            sharing_mode=sharing_mode,
            schedule=schedule,
        )


class SpokeProduct(Construct):
    """A Service Catalog portfolio (hub) with the share-acceptor product, shared with consumer accounts.

    Args:
        hub_account_id: the account consumers must trust (usually this stack's account).
        consumer_accounts: accounts the portfolio is shared with. Default: none.
        asset_bucket_name: name of the bucket holding the product's Lambda code (must be concrete).
        portfolio_name: Default: "meshworks data mesh".
        provider_name: Default: "meshworks platform team".
        product_version: Default: "v1" (bump it when the acceptor changes).
        schedule: acceptor schedule in launched products. Default: 30 minutes.
        sharing_mode: the hub's sharing mode, given to launched acceptors. Default: "lf_tags".
        encryption_key: encrypts the asset bucket; consumer accounts are granted ``kms:Decrypt`` on
            it (through S3, for this bucket) when the portfolio is shared with them, so never pass a
            key that encrypts anything else. Default: a new ``AssetKey`` used by this bucket only.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        hub_account_id: str,
        asset_bucket_name: str,
        consumer_accounts: Sequence[str] = (),
        portfolio_name: str = "meshworks data mesh",
        provider_name: str = "meshworks platform team",
        product_version: str = "v1",
        schedule: Duration = Duration.minutes(30),
        sharing_mode: str = "lf_tags",
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        whole_duration("SpokeProduct", "schedule", schedule, "minutes", minimum=1)
        account_ids("SpokeProduct", "hub_account_id", [hub_account_id])
        consumer_accounts = account_ids("SpokeProduct", "consumer_accounts", consumer_accounts)
        super().__init__(scope, construct_id)
        self.key = encryption_key or AssetKey(
            self, "Key", bucket_name=asset_bucket_name, description="meshworks spoke product assets key"
        )
        self.asset_bucket = SecureBucket(
            self,
            "Assets",
            bucket_name=asset_bucket_name,
            encryption_key=self.key,
            removal_policy=removal_policy,
        )
        self.product_stack = ShareAcceptorProductStack(
            self,
            "ShareAcceptorProduct",
            hub_account_id=hub_account_id,
            asset_bucket=self.asset_bucket,
            schedule=schedule,
            sharing_mode=sharing_mode,
        )
        self.product = servicecatalog.CloudFormationProduct(
            self,
            "Product",
            product_name="meshworks share acceptor",
            owner=provider_name,
            description="Accepts this data mesh's shares in your account, creates resource links and grants "
            "your principals; runs every "
            f"{int(schedule.to_minutes())} minutes.",
            product_versions=[
                servicecatalog.CloudFormationProductVersion(
                    product_version_name=product_version,
                    cloud_formation_template=servicecatalog.CloudFormationTemplate.from_product_stack(
                        self.product_stack
                    ),
                )
            ],
        )
        self.portfolio = servicecatalog.Portfolio(
            self,
            "Portfolio",
            display_name=portfolio_name,
            provider_name=provider_name,
            description="Data mesh onboarding products for consumer accounts",
        )
        self.portfolio.add_product(self.product)
        self.consumer_accounts: list[str] = []
        for account in consumer_accounts:
            self.share_with(account)
        # The product stack's synthesizer created CDK's BucketDeployment singleton in this stack.
        acknowledge_bucket_deployments(self)

    def share_with(self, account: str) -> None:
        """Share the portfolio (and read access to the product's code) with one consumer account."""
        if account in self.consumer_accounts:
            return
        self.consumer_accounts.append(account)
        self.portfolio.share_with_account(account)

"""The chat page (web/) served by the stack: a private S3 bucket behind CloudFront (pageHosting).

Built in two steps because of what depends on what. The distribution comes first (the bucket, the
origin access control, the security headers, the site's files): its domain is the page's origin,
which the API must list for CORS. The API comes next. Last comes `config.js`, which names the API's
URL (PageConfig). The distribution never waits for the API's deployment: its Content-Security-Policy
names the API's execute-api origin, which depends on the REST API's id alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components import policies
from components.buckets import private_bucket_controls

# CloudFront's managed cache policies (their ids are the same in every account).
# CachingOptimized: no cookies or query strings in the key, gzip and brotli; TTLs 1 s .. 1 year,
# 1 day by default, within which the origin's Cache-Control max-age decides.
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"

# The generated file the page reads its API from; never one of web/'s own files.
CONFIG_KEY = "config.js"
INDEX_KEY = "index.html"
# How long browsers and CloudFront may keep a page file before asking again: a new deployment
# reaches everyone within five minutes without invalidations. config.js is never cached.
SITE_CACHE_CONTROL = "public, max-age=300"
CONFIG_CACHE_CONTROL = "no-cache"
# HSTS for two years (browsers' preload lists ask for at least one); subdomains included.
HSTS_MAX_AGE_SECONDS = 2 * 365 * 24 * 3600

CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
}
# Licences of vendored files (LICENSE.marked, ...) travel with them, as their terms ask.
LICENCE_PREFIXES = ("LICENSE", "LICENCE", "NOTICE")
# Files in web/ that only developers use: never uploaded.
DEV_ONLY_NAMES = frozenset({"VERSIONS", "README", "README.md", "package.json", "package-lock.json"})
DEV_ONLY_SUFFIXES = frozenset({".py", ".sh", ".md", ".ts"})


class PageFileError(ValueError):
    """A file in web/ whose content type the stack does not know (it would be served wrong)."""


@dataclass(frozen=True)
class SiteFile:
    # Object key: the path below web/, with "/" separators ("vendor/marked.umd.js").
    key: str
    path: Path
    content_type: str
    # Hex sha256 of the bytes: the object's source_hash, so changed bytes are uploaded again.
    sha256: str


def _content_type(relative: Path) -> Optional[str]:
    """The file's Content-Type, None for a developer-only file; PageFileError when unknown."""
    name = relative.name
    if name in DEV_ONLY_NAMES or relative.suffix in DEV_ONLY_SUFFIXES:
        return None
    if name.startswith(LICENCE_PREFIXES):
        return "text/plain; charset=utf-8"
    if relative.suffix in CONTENT_TYPES:
        return CONTENT_TYPES[relative.suffix]
    raise PageFileError(
        f"web/{relative.as_posix()} has no known content type; add its suffix to CONTENT_TYPES or "
        f"DEV_ONLY_SUFFIXES in components/page_hosting.py"
    )


def site_files(web_dir: Path) -> list[SiteFile]:
    """Every file of web/ the hosted page serves, in key order: config.js (generated per stack),
    hidden files and developer-only files left out."""
    files: list[SiteFile] = []
    for path in sorted(web_dir.rglob("*")):
        relative = path.relative_to(web_dir)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        if relative.as_posix() == CONFIG_KEY:
            continue
        content_type = _content_type(relative)
        if content_type is None:
            continue
        files.append(SiteFile(relative.as_posix(), path, content_type, hashlib.sha256(path.read_bytes()).hexdigest()))
    if not any(f.key == INDEX_KEY for f in files):
        raise PageFileError(f"{web_dir} has no {INDEX_KEY}")
    return files


def object_resource_suffix(key: str) -> str:
    """"vendor/marked.umd.js" -> "vendor-marked-umd-js": the logical name's tail of its object."""
    return re.sub(r"[^a-zA-Z0-9]+", "-", key).strip("-").lower()


# --- the Content-Security-Policy header -------------------------------------------------------------

_META_CSP = re.compile(
    r"""<meta\s+http-equiv=["']Content-Security-Policy["']\s+content=(?P<quote>["'])(?P<policy>.*?)(?P=quote)""",
    re.IGNORECASE | re.DOTALL,
)


def page_meta_csp(index_html: str) -> dict[str, str]:
    """The directives of the page's own <meta> CSP, in order (directive -> sources)."""
    match = _META_CSP.search(index_html)
    if match is None:
        return {}
    directives: dict[str, str] = {}
    for part in match.group("policy").split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), " ".join(words[1:]))
    return directives


def content_security_policy(page_directives: dict[str, str], connect_origins: Sequence[str]) -> str:
    """The hosted page's CSP header: the page's own directives, with connect-src narrowed to the
    origins it really calls, and what a <meta> CSP cannot say (frame-ancestors) added.

    The browser enforces the header and the page's <meta> together (a request must pass both), so
    keeping the page's directives keeps the page working, and the narrower connect-src only
    removes what the page served from this stack never needs.
    """
    if not connect_origins:
        raise ValueError("the page must be allowed to connect to at least the API")
    directives = {"default-src": "'self'", "script-src": "'self'", **page_directives}
    directives["connect-src"] = " ".join(dict.fromkeys(connect_origins))
    directives.setdefault("object-src", "'none'")
    directives["frame-ancestors"] = "'none'"
    return "; ".join(f"{name} {sources}".strip() for name, sources in directives.items())


# --- config.js --------------------------------------------------------------------------------------


@dataclass
class HostedSignIn:
    """Cognito's hosted login for the page (authMode cognito): where to send users, and as whom."""

    # https://<prefix>.auth.<region>.amazoncognito.com (or the pool's custom login domain).
    domain_url: pulumi.Input[str]
    # The pool's public app client (no secret), which lists the page's URL as a callback.
    client_id: pulumi.Input[str]
    scopes: tuple[str, ...] = ("openid", "email")


def page_config(api_url: str, auth_mode: str, sign_in: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """window.AGENTCORE_STREAMING_CONFIG for the hosted page (the shape web/app.js reads).

    Never a key or a secret: anyone who can load the page can read config.js. apiKey users type
    their key into the page.
    """
    config: dict[str, Any] = {"apiUrl": api_url, "authMode": auth_mode}
    if sign_in is not None:
        config["cognito"] = sign_in
    return config


def page_config_script(config: dict[str, Any]) -> str:
    # json.dumps escapes every non-ASCII character, so no U+2028 can end a JavaScript line early.
    return (
        "// Written by the stack (components/page_hosting.py) at each `pulumi up`; edits here are lost.\n"
        f"window.AGENTCORE_STREAMING_CONFIG = {json.dumps(config, indent=2, sort_keys=True)};\n"
    )


# --- the distribution --------------------------------------------------------------------------------


@dataclass
class PageHostingArgs:
    # Where the page's files are (the repository's web/).
    web_dir: Path
    # Name prefix of the page bucket (S3 adds a unique suffix; at most buckets.BUCKET_PREFIX_MAX_LENGTH).
    bucket_name_prefix: str
    # Physical names of the origin access control (64 at most) and the response headers policy (128).
    access_control_name: str
    headers_policy_name: str
    # CloudFront price class: PriceClass_100 (North America and Europe edges only, cheapest), ...
    price_class: str
    # Origins the page calls with fetch: the API's (known without the API's deployment, see the
    # module docstring); Cognito's login domain is added from sign_in.
    api_origins: Sequence[pulumi.Input[str]]
    # authMode cognito: the hosted login the page sends users to; None otherwise.
    sign_in: Optional[HostedSignIn] = None


class PageHosting(pulumi.ComponentResource):
    bucket_id: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    # https://<domain>: what the API's CORS list needs.
    origin: pulumi.Output[str]
    # https://<domain>/: what users open, and the sign-in callback.
    url: pulumi.Output[str]

    def __init__(self, name: str, args: PageHostingArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:page_hosting:PageHosting", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        files = site_files(args.web_dir)
        bucket, public_access_block, encryption = self._bucket(name, args)
        access_control = aws.cloudfront.OriginAccessControl(
            f"{name}-access-control",
            name=args.access_control_name,
            description="CloudFront signs every request for the page's files (SigV4)",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        headers = self._headers_policy(name, args)
        distribution = self._distribution(name, args, bucket, access_control, headers)
        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, distribution.arn).apply(
                lambda v: json.dumps(policies.page_bucket_policy(v[0], v[1]))
            ),
            # S3 rejects any bucket policy while the public access block is still being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )
        for site_file in files:
            aws.s3.BucketObjectv2(
                f"{name}-file-{object_resource_suffix(site_file.key)}",
                bucket=bucket.id,
                key=site_file.key,
                source=pulumi.FileAsset(str(site_file.path)),
                source_hash=site_file.sha256,
                content_type=site_file.content_type,
                cache_control=SITE_CACHE_CONTROL,
                server_side_encryption="AES256",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[encryption]),
            )

        self.bucket_id = bucket.id
        self.distribution_arn = distribution.arn
        self.domain_name = distribution.domain_name
        self.origin = pulumi.Output.concat("https://", distribution.domain_name)
        self.url = pulumi.Output.concat("https://", distribution.domain_name, "/")
        self.register_outputs({
            "bucketId": self.bucket_id,
            "distributionArn": self.distribution_arn,
            "domainName": self.domain_name,
            "url": self.url,
        })

    def _bucket(
        self, name: str, args: PageHostingArgs
    ) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock, aws.s3.BucketServerSideEncryptionConfiguration]:
        """A private, encrypted bucket only CloudFront reads. Not versioned and never protected:
        every object is rebuilt from the repository at each `pulumi up`."""
        bucket = aws.s3.Bucket(f"{name}-bucket", bucket_prefix=args.bucket_name_prefix, force_destroy=True,
                               opts=pulumi.ResourceOptions(parent=self))
        public_access_block, encryption = private_bucket_controls(self, f"{name}-bucket", bucket)
        return bucket, public_access_block, encryption

    def _headers_policy(self, name: str, args: PageHostingArgs) -> aws.cloudfront.ResponseHeadersPolicy:
        """Security headers on every response: CSP, HSTS, nosniff, no framing, no referrer."""
        page_directives = page_meta_csp((args.web_dir / INDEX_KEY).read_text(encoding="utf-8"))
        connect: list[pulumi.Input[str]] = list(args.api_origins)
        if args.sign_in is not None:
            connect.append(args.sign_in.domain_url)
        csp = pulumi.Output.all(*connect).apply(lambda origins: content_security_policy(page_directives, origins))
        return aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-headers",
            name=args.headers_policy_name,
            comment="Security headers of the hosted chat page",
            security_headers_config=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                content_security_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
                    content_security_policy=csp, override=True,
                ),
                strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                    access_control_max_age_sec=HSTS_MAX_AGE_SECONDS, include_subdomains=True, override=True,
                ),
                content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
                    override=True,
                ),
                frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                    frame_option="DENY", override=True,
                ),
                referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                    referrer_policy="no-referrer", override=True,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _distribution(
        self,
        name: str,
        args: PageHostingArgs,
        bucket: aws.s3.Bucket,
        access_control: aws.cloudfront.OriginAccessControl,
        headers: aws.cloudfront.ResponseHeadersPolicy,
    ) -> aws.cloudfront.Distribution:
        origin_id = "page-bucket"
        # GET and HEAD only, HTTP redirected to HTTPS, compressed, with the security headers.
        behavior: dict[str, Any] = dict(
            allowed_methods=["GET", "HEAD"],
            cached_methods=["GET", "HEAD"],
            target_origin_id=origin_id,
            viewer_protocol_policy="redirect-to-https",
            compress=True,
            response_headers_policy_id=headers.id,
        )
        return aws.cloudfront.Distribution(
            f"{name}-distribution",
            enabled=True,
            comment=f"Chat page ({args.bucket_name_prefix})",
            default_root_object=INDEX_KEY,
            http_version="http2and3",
            price_class=args.price_class,
            # The bucket's REST endpoint with origin access control, never its public website
            # endpoint (and no legacy origin access identity: s3_origin_config stays unset).
            origins=[aws.cloudfront.DistributionOriginArgs(
                origin_id=origin_id,
                domain_name=bucket.bucket_regional_domain_name,
                origin_access_control_id=access_control.id,
            )],
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                cache_policy_id=CACHING_OPTIMIZED_POLICY_ID, **behavior,
            ),
            # config.js names the API: a changed API URL must reach browsers at once.
            ordered_cache_behaviors=[aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern=f"/{CONFIG_KEY}", cache_policy_id=CACHING_DISABLED_POLICY_ID, **behavior,
            )],
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none"),
            ),
            # The *.cloudfront.net certificate. CloudFront fixes its security policy at TLSv1 whatever
            # minimum_protocol_version says (docs/deploying.md, "Share the page"); a custom domain with an ACM
            # certificate is what allows TLSv1.2_2021.
            viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True),
            opts=pulumi.ResourceOptions(parent=self),
        )


# --- config.js, once the API exists --------------------------------------------------------------------


@dataclass
class PageConfigArgs:
    # The page's bucket (PageHosting.bucket_id).
    bucket_id: pulumi.Input[str]
    # The URL users call (the stack's apiUrl output); the page posts to <apiUrl>/invoke.
    api_url: pulumi.Input[str]
    # The stack's authMode: how the page asks for credentials.
    auth_mode: str
    sign_in: Optional[HostedSignIn] = None


class PageConfig(pulumi.ComponentResource):
    content: pulumi.Output[str]

    def __init__(self, name: str, args: PageConfigArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:page_hosting:PageConfig", name, None, opts)
        sign_in: Optional[pulumi.Output[dict[str, Any]]] = None
        if args.sign_in is not None:
            scopes = list(args.sign_in.scopes)
            sign_in = pulumi.Output.all(args.sign_in.domain_url, args.sign_in.client_id).apply(
                lambda v: {"domain": v[0], "clientId": v[1], "scopes": scopes}
            )
        self.content = pulumi.Output.all(args.api_url, sign_in).apply(
            lambda v: page_config_script(page_config(v[0], args.auth_mode, v[1]))
        )
        aws.s3.BucketObjectv2(
            f"{name}-object",
            bucket=args.bucket_id,
            key=CONFIG_KEY,
            content=self.content,
            content_type=CONTENT_TYPES[".js"],
            cache_control=CONFIG_CACHE_CONTROL,
            server_side_encryption="AES256",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"content": self.content})

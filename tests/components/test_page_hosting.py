"""The hosted chat page (pageHosting): a private bucket behind CloudFront with OAC, HTTPS only and
security headers, its origin in the API's CORS lists, a generated config.js, and pageUrl exported.

The two hosting shapes run once per session (tests/support/program_runs.py): dev with its API key, and prod signing
users in with Cognito.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.support.infra_harness import (
    ACCOUNT_ID,
    MOCK_API_KEY_VALUE,
    MOCK_DISTRIBUTION_DOMAIN,
    MOCK_USER_POOL_CLIENT_ID,
    REPO_ROOT,
    ProgramRun,
    run_program,
    stack_config,
)
from streaming_shared import edge as proxy_edge

from components.page_hosting import (
    CACHING_DISABLED_POLICY_ID,
    CACHING_OPTIMIZED_POLICY_ID,
    PageFileError,
    content_security_policy,
    page_meta_csp,
    site_files,
)
from stack_config.settings import PROJECT, parse_settings, settings_warnings
from streaming_shared.edge import OriginError, SettingsError, with_origin

BUCKET = "aws:s3/bucket:Bucket"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
ACCESS_CONTROL = "aws:cloudfront/originAccessControl:OriginAccessControl"
HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
GATEWAY_RESPONSE = "aws:apigateway/response:Response"
INTEGRATION_RESPONSE = "aws:apigateway/integrationResponse:IntegrationResponse"
FUNCTION = "aws:lambda/function:Function"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
PAGE_ORIGIN = f"https://{MOCK_DISTRIBUTION_DOMAIN}"
PAGE_URL = f"{PAGE_ORIGIN}/"
API_ORIGIN = "https://api-api-id.execute-api.us-east-1.amazonaws.com"
ONE_YEAR = 365 * 24 * 3600
RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/my_agent-AbCdEf1234"


def page_bucket(run: ProgramRun):
    return run.named("page-bucket")


def of_bucket(run: ProgramRun, type_token: str, bucket_name: str) -> list:
    return [r for r in run.of_type(type_token) if r.inputs.get("bucket") == f"{bucket_name}-id"]


def csp_directives(policy: str) -> dict[str, str]:
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = " ".join(words[1:])
    return directives


def headers_config(run: ProgramRun) -> dict:
    return run.one(HEADERS_POLICY).inputs["securityHeadersConfig"]


def config_script(run: ProgramRun) -> tuple[str, dict]:
    [config_object] = [o for o in run.of_type(OBJECT) if o.inputs["key"] == "config.js"]
    content = config_object.inputs["content"]
    match = re.fullmatch(r"(?s)//[^\n]*\nwindow\.AGENTCORE_STREAMING_CONFIG = (\{.*\});\n", content)
    assert match, content
    return content, json.loads(match.group(1))


# --- off by default ------------------------------------------------------------------------------


def test_nothing_of_the_hosted_page_exists_when_it_is_off(stack_run: ProgramRun) -> None:
    assert not [r for r in stack_run.resources if r.type.startswith("aws:cloudfront/")]
    assert not [r for r in stack_run.resources if r.name.startswith("page")]
    assert [b.name for b in stack_run.of_type(BUCKET)] == ["agent-code"]
    assert "pageUrl" not in stack_run.outputs
    assert "PROXY_CORS_ALLOWED_ORIGINS" not in stack_run.one(FUNCTION).inputs["environment"]["variables"]
    for client in stack_run.of_type(CLIENT):
        assert not client.inputs.get("callbackUrls")


# --- the bucket ------------------------------------------------------------------------------------


def test_the_page_bucket_is_private(dev_hosting_run: ProgramRun) -> None:
    run = dev_hosting_run
    [block] = of_bucket(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "page-bucket")
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[flag] is True, flag
    [ownership] = of_bucket(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "page-bucket")
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    [encryption] = of_bucket(
        run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "page-bucket")
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert page_bucket(run).inputs["bucketPrefix"] == "agentcore-streaming-dev-page"


def test_only_this_distribution_may_read_the_bucket_and_only_over_tls(dev_hosting_run: ProgramRun) -> None:
    run = dev_hosting_run
    [policy] = of_bucket(run, "aws:s3/bucketPolicy:BucketPolicy", "page-bucket")
    bucket_arn = page_bucket(run).state["arn"]
    distribution_arn = run.one(DISTRIBUTION).state["arn"]
    assert distribution_arn == f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/page-distribution-id"
    statements = json.loads(policy.inputs["policy"])["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [{
        "Sid": "AllowThisDistributionToReadThePage",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    }]
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [bucket_arn, f"{bucket_arn}/*"]
    # S3 refuses a bucket policy while the public access block is being applied.
    [block] = of_bucket(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "page-bucket")
    assert block.urn in policy.depends_on


def test_every_page_file_is_uploaded_with_its_type_and_hash(dev_hosting_run: ProgramRun) -> None:
    expected = {f.key: f for f in site_files(REPO_ROOT / "web")}
    uploaded = {o.inputs["key"]: o for o in of_bucket(dev_hosting_run, OBJECT, "page-bucket")}
    # web/config.js (the local default) is never uploaded: the stack writes its own.
    assert set(uploaded) == {*expected, "config.js"}
    assert {"index.html", "app.js", "style.css"} <= set(expected)
    for key, site_file in expected.items():
        inputs = uploaded[key].inputs
        assert inputs["contentType"] == site_file.content_type, key
        # The bytes' hash: changed bytes change the input, so `pulumi up` uploads them again.
        assert inputs["sourceHash"] == site_file.sha256, key
        # CachingOptimized honours the origin's max-age: a new deployment reaches everyone in 5 minutes.
        assert inputs["cacheControl"] == "public, max-age=300", key
    assert uploaded["index.html"].inputs["contentType"] == "text/html; charset=utf-8"
    assert uploaded["app.js"].inputs["contentType"] == "text/javascript; charset=utf-8"
    assert uploaded["style.css"].inputs["contentType"] == "text/css; charset=utf-8"


def test_site_files_skip_config_hidden_and_developer_files(tmp_path: Path) -> None:
    web = tmp_path / "web"
    (web / "vendor").mkdir(parents=True)
    for relative in ("index.html", "app.js", "config.js", "vendor/marked.umd.js", "vendor/LICENSE.marked",
                     "vendor/VERSIONS", "refresh.py", ".DS_Store", "icon.svg"):
        (web / relative).write_text(relative)
    files = {f.key: f.content_type for f in site_files(web)}
    assert files == {
        "app.js": "text/javascript; charset=utf-8",
        "icon.svg": "image/svg+xml",
        "index.html": "text/html; charset=utf-8",
        "vendor/LICENSE.marked": "text/plain; charset=utf-8",
        "vendor/marked.umd.js": "text/javascript; charset=utf-8",
    }
    # A file the stack would serve with a wrong type stops the program, naming it.
    (web / "font.xyz").write_text("?")
    with pytest.raises(PageFileError, match="web/font.xyz has no known content type"):
        site_files(web)


# --- CloudFront --------------------------------------------------------------------------------------


def test_cloudfront_reads_the_bucket_through_origin_access_control(dev_hosting_run: ProgramRun) -> None:
    run = dev_hosting_run
    access_control = run.one(ACCESS_CONTROL).inputs
    assert (access_control["originAccessControlOriginType"], access_control["signingBehavior"],
            access_control["signingProtocol"]) == ("s3", "always", "sigv4")
    [origin] = run.one(DISTRIBUTION).inputs["origins"]
    assert origin["originAccessControlId"] == "page-access-control-id"
    # The bucket's REST endpoint, never its website endpoint, and no legacy origin access identity.
    assert origin["domainName"] == page_bucket(run).state["bucketRegionalDomainName"]
    assert ".s3-website" not in origin["domainName"]
    assert "s3OriginConfig" not in origin and "customOriginConfig" not in origin


def test_cloudfront_redirects_to_https_and_caches_all_but_config(dev_hosting_run: ProgramRun) -> None:
    distribution = dev_hosting_run.one(DISTRIBUTION).inputs
    default = distribution["defaultCacheBehavior"]
    [config_behavior] = distribution["orderedCacheBehaviors"]
    for behavior in (default, config_behavior):
        assert behavior["viewerProtocolPolicy"] == "redirect-to-https"
        assert behavior["allowedMethods"] == ["GET", "HEAD"]
        assert behavior["compress"] is True
        assert behavior["responseHeadersPolicyId"] == "page-headers-id"
    assert default["cachePolicyId"] == CACHING_OPTIMIZED_POLICY_ID
    assert config_behavior == {**config_behavior, "pathPattern": "/config.js", "cachePolicyId": CACHING_DISABLED_POLICY_ID}
    assert distribution["defaultRootObject"] == "index.html"
    assert distribution["priceClass"] == "PriceClass_100"
    assert distribution["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert distribution["enabled"] is True


def test_headers_policy_sets_csp_hsts_nosniff_and_frame_denial(dev_hosting_run: ProgramRun) -> None:
    config = headers_config(dev_hosting_run)
    csp = csp_directives(config["contentSecurityPolicy"]["contentSecurityPolicy"])
    assert csp["script-src"] == "'self'"
    # Only the API: the page served by the stack calls nothing else.
    assert csp["connect-src"] == API_ORIGIN
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    hsts = config["strictTransportSecurity"]
    assert hsts["accessControlMaxAgeSec"] >= ONE_YEAR and hsts["includeSubdomains"] is True
    assert config["contentTypeOptions"] == {"override": True}
    assert config["frameOptions"] == {"frameOption": "DENY", "override": True}
    assert config["referrerPolicy"]["referrerPolicy"] == "no-referrer"
    for header in ("contentSecurityPolicy", "strictTransportSecurity", "frameOptions", "referrerPolicy"):
        assert config[header]["override"] is True, header


def test_header_csp_keeps_every_directive_the_page_declares(dev_hosting_run: ProgramRun) -> None:
    # The browser enforces the header and the page's <meta> CSP together: a header stricter than the
    # page in any directive but connect-src would break the page.
    page = page_meta_csp((REPO_ROOT / "web" / "index.html").read_text())
    assert page, "web/index.html declares no CSP"
    header = csp_directives(headers_config(dev_hosting_run)["contentSecurityPolicy"]["contentSecurityPolicy"])
    for directive, sources in page.items():
        if directive != "connect-src":
            assert header[directive] == sources, directive
    # The page's own connect-src admits every https origin, so the API's passes both.
    assert "https:" in page["connect-src"].split()


def test_content_security_policy_narrows_connect_src_and_adds_framing() -> None:
    page = {"default-src": "'self'", "script-src": "'self'", "connect-src": "http: https:"}
    policy = content_security_policy(page, ["https://a.example", "https://login.example", "https://a.example"])
    assert policy == ("default-src 'self'; script-src 'self'; connect-src https://a.example https://login.example; "
                      "object-src 'none'; frame-ancestors 'none'")
    with pytest.raises(ValueError):
        content_security_policy(page, [])


# --- the API's CORS lists ----------------------------------------------------------------------------


def test_the_api_allows_the_page_origin_in_the_proxy_and_gateway_responses(dev_hosting_run: ProgramRun) -> None:
    run = dev_hosting_run
    variables = run.one(FUNCTION).inputs["environment"]["variables"]
    # What the proxy reads back at start (it refuses to start on a value outside the origin grammar).
    # (The mock's runtime ARN has a shorter id than AgentCore's; a real one stands in for it.)
    proxy_settings = proxy_edge.load_settings({**variables, "AGENT_RUNTIME_ARN": RUNTIME_ARN})
    assert proxy_settings.cors_allowed_origins == (PAGE_ORIGIN,)
    for response in run.of_type(GATEWAY_RESPONSE):
        assert response.inputs["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == \
            f"'{PAGE_ORIGIN}'", response.name
    preflights = run.of_type(INTEGRATION_RESPONSE)
    assert len(preflights) == 2  # OPTIONS /invoke and OPTIONS /stop
    for preflight in preflights:
        assert preflight.inputs["responseParameters"]["method.response.header.Access-Control-Allow-Origin"] == \
            f"'{PAGE_ORIGIN}'"


def test_the_page_origin_joins_configured_origins() -> None:
    run = run_program("dev", stack_config("dev", overrides={
        f"{PROJECT}:pageHosting": True, f"{PROJECT}:corsAllowedOrigins": ["http://localhost:8001"]}))
    variables = run.one(FUNCTION).inputs["environment"]["variables"]
    assert variables["PROXY_CORS_ALLOWED_ORIGINS"] == f"http://localhost:8001,{PAGE_ORIGIN}"
    # Two origins: the preflight echoes whichever is listed, gateway errors carry the first.
    for preflight in run.of_type(INTEGRATION_RESPONSE):
        template = preflight.inputs["responseTemplates"]["application/json"]
        assert f'#set($allowed = ["http://localhost:8001", "{PAGE_ORIGIN}"])' in template


def test_with_origin_keeps_the_origin_grammar() -> None:
    assert with_origin((), PAGE_ORIGIN) == (PAGE_ORIGIN,)
    assert with_origin(("https://a.example",), PAGE_ORIGIN) == ("https://a.example", PAGE_ORIGIN)
    assert with_origin((PAGE_ORIGIN,), PAGE_ORIGIN) == (PAGE_ORIGIN,)
    assert with_origin(("*",), PAGE_ORIGIN) == ("*",)
    with pytest.raises(OriginError):
        with_origin((), "http://d1.cloudfront.net")


# --- outputs and config.js ----------------------------------------------------------------------------


def test_page_url_is_exported(dev_hosting_run: ProgramRun) -> None:
    assert dev_hosting_run.outputs["pageUrl"] == PAGE_URL


def test_config_js_names_the_api_users_call_and_never_a_key(dev_hosting_run: ProgramRun) -> None:
    content, config = config_script(dev_hosting_run)
    assert config == {"apiUrl": dev_hosting_run.outputs["apiUrl"], "authMode": "apiKey"}
    assert MOCK_API_KEY_VALUE not in content
    [config_object] = [o for o in dev_hosting_run.of_type(OBJECT) if o.inputs["key"] == "config.js"]
    assert config_object.inputs["contentType"] == "text/javascript; charset=utf-8"
    assert config_object.inputs["cacheControl"] == "no-cache"
    assert config_object.inputs["bucket"] == "page-bucket-id"


def test_cognito_page_signs_in_through_the_pool_login_and_comes_back(prod_hosting_run: ProgramRun) -> None:
    run = prod_hosting_run
    client = run.one(CLIENT).inputs
    assert client["callbackUrls"] == [PAGE_URL] and client["logoutUrls"] == [PAGE_URL]
    assert client["generateSecret"] is False
    domain = run.one("aws:cognito/userPoolDomain:UserPoolDomain").inputs["domain"]
    assert re.fullmatch(r"agentcore-streaming-prod-login-123456789012", domain)
    login_url = f"https://{domain}.auth.us-east-1.amazoncognito.com"
    _content, config = config_script(run)
    assert config == {
        "apiUrl": run.outputs["apiUrl"], "authMode": "cognito",
        "cognito": {"domain": login_url, "clientId": MOCK_USER_POOL_CLIENT_ID, "scopes": ["openid", "email"]},
    }
    csp = csp_directives(headers_config(run)["contentSecurityPolicy"]["contentSecurityPolicy"])
    assert csp["connect-src"].split() == [API_ORIGIN, login_url]
    assert run.outputs["pageUrl"] == PAGE_URL


# --- no dependency cycle -----------------------------------------------------------------------------


def test_the_distribution_waits_for_nothing_of_the_api_deployment(dev_hosting_run: ProgramRun) -> None:
    # distribution -> proxy environment -> API -> config.js, with the CSP needing only the REST API's
    # id: the program finished (a cycle would never resolve), and the graph runs one way.
    run = dev_hosting_run
    distribution, headers = run.one(DISTRIBUTION), run.one(HEADERS_POLICY)
    rest_api = run.one("aws:apigateway/restApi:RestApi")
    assert rest_api.urn in headers.depends_on
    assert headers.urn in distribution.depends_on
    api_and_proxy = {r.urn for r in run.resources
                     if r.type.startswith(("aws:apigateway/", "aws:lambda/")) and r is not rest_api}
    assert not api_and_proxy & set(distribution.depends_on)
    assert not api_and_proxy & set(headers.depends_on)
    assert distribution.urn in run.one(FUNCTION).depends_on
    [config_object] = [o for o in run.of_type(OBJECT) if o.inputs["key"] == "config.js"]
    assert run.one("aws:apigateway/stage:Stage").urn in config_object.depends_on


# --- settings ------------------------------------------------------------------------------------------


def values(**overrides: object) -> dict[str, str]:
    return dict(stack_config("dev", overrides={f"{PROJECT}:{k}": v for k, v in overrides.items()}))


def test_page_hosting_settings() -> None:
    assert parse_settings(PROJECT, "dev", values()).page_hosting is False
    settings = parse_settings(PROJECT, "dev", values(pageHosting=True, pagePriceClass="PriceClass_All"))
    assert (settings.page_hosting, settings.page_price_class) == (True, "PriceClass_All")
    with pytest.raises(SettingsError, match=rf"{PROJECT}:pageHosting must be true or false, got 'yes'"):
        parse_settings(PROJECT, "dev", values(pageHosting="yes"))
    with pytest.raises(SettingsError, match=rf"{PROJECT}:pagePriceClass must be one of 'PriceClass_100'"):
        parse_settings(PROJECT, "dev", values(pagePriceClass="PriceClass_50"))


def test_a_hosted_page_needs_a_user_pool_the_stack_owns() -> None:
    pool = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbC123"
    existing = {"authMode": "cognito", "cognitoUserPoolArn": pool, "cognitoAppClientId": "3n4b5urk1ft4fl3mg5e62d9ado"}
    with pytest.raises(SettingsError, match=rf"{PROJECT}:pageHosting: .*cognitoUserPoolArn"):
        parse_settings(PROJECT, "dev", values(pageHosting=True, **existing))
    assert parse_settings(PROJECT, "dev", values(**existing)).page_hosting is False


def test_hosting_warns_where_a_browser_cannot_use_the_api(prod_hosting_run: ProgramRun) -> None:
    iam = settings_warnings(parse_settings(PROJECT, "dev", values(pageHosting=True, authMode="iam")))
    assert any("authMode is 'iam'" in w for w in iam)
    # prod's API is PRIVATE: the program says so when the page is hosted.
    assert any(f"{PROJECT}:pageHosting is true but endpointType is PRIVATE" in w for w in prod_hosting_run.warnings)
    assert not [w for w in settings_warnings(parse_settings(PROJECT, "dev", values(pageHosting=True)))
                if "pageHosting" in w]


def test_a_hosted_page_calls_the_custom_domain_and_its_csp_allows_it() -> None:
    # config.js names apiUrl, the URL users call: with a custom domain that is the domain, so the
    # header's connect-src must allow its origin, or the browser would refuse every request.
    certificate = f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    run = run_program("dev", stack_config("dev", overrides={
        f"{PROJECT}:pageHosting": True,
        f"{PROJECT}:customDomain": {"name": "chat.example.com", "certificateArn": certificate},
    }))
    _content, config = config_script(run)
    assert config["apiUrl"] == run.outputs["apiUrl"] == "https://chat.example.com"
    csp = csp_directives(headers_config(run)["contentSecurityPolicy"]["contentSecurityPolicy"])
    assert "https://chat.example.com" in csp["connect-src"].split()

"""A built-in list of common public suffixes, for cookie domain refusal.

A cookie whose ``Domain`` is a public suffix (``com``, ``co.uk``,
``github.io``) would be sent to every site under it, so RFC 6265 §5.3 step 5
lets a user agent refuse such cookies. The full Public Suffix List has about
ten thousand rules and changes weekly; shipping and refreshing it is a job for
a dedicated package. sockit carries the suffixes that matter most in practice
and applies the list's default rule (``*``: every top-level label is a public
suffix), so ``Domain=com`` or ``Domain=zz`` is refused for any TLD, listed or
not. What the short list cannot know are the rarer multi-label suffixes; a
cookie for one of them is accepted and sent to that suffix's subdomains.
"""

from __future__ import annotations

__all__ = ["PUBLIC_SUFFIXES", "is_public_suffix", "registrable_domain"]

_TOP_LEVEL = """
com net org edu gov mil int arpa info biz name pro mobi aero coop museum
io co ai app dev me tv cc ws eu asia xyz online site top club shop blog cloud
tech store uk de fr jp cn ru br au ca in it nl es se no fi dk pl ch at be
nz za kr tw hk sg mx ar cl us ie pt gr cz tr il
"""
_SECOND_LEVEL = """
co.uk org.uk ac.uk gov.uk me.uk ltd.uk plc.uk net.uk sch.uk nhs.uk police.uk
com.au net.au org.au edu.au gov.au id.au asn.au
co.jp ne.jp or.jp ac.jp go.jp gr.jp ed.jp lg.jp
co.nz net.nz org.nz govt.nz ac.nz school.nz
com.br net.br org.br gov.br edu.br
com.cn net.cn org.cn gov.cn edu.cn ac.cn
co.in net.in org.in gov.in ac.in firm.in gen.in ind.in
co.za org.za gov.za ac.za
com.mx org.mx gob.mx com.ar gob.ar com.tw org.tw gov.tw com.hk org.hk gov.hk
com.sg org.sg gov.sg co.kr or.kr go.kr ac.kr com.tr gov.tr co.il org.il ac.il
gov.us
"""
# Private-section entries: hosting platforms where each customer gets a
# subdomain, so one customer must not set cookies for all the others.
_PLATFORMS = """
github.io gitlab.io bitbucket.io readthedocs.io herokuapp.com herokussl.com
appspot.com blogspot.com firebaseapp.com web.app pages.dev workers.dev
netlify.app vercel.app now.sh surge.sh fly.dev onrender.com glitch.me
azurewebsites.net cloudapp.net cloudfront.net s3.amazonaws.com
elasticbeanstalk.com ngrok.io ngrok.app repl.co
"""

#: Domains refused as a cookie ``Domain`` unless the request host is exactly
#: the suffix (then the cookie becomes host-only). Lowercase, no leading dot.
PUBLIC_SUFFIXES: frozenset[str] = frozenset((_TOP_LEVEL + _SECOND_LEVEL + _PLATFORMS).split())


def is_public_suffix(domain: str) -> bool:
    """Whether ``domain`` (canonical, lowercase) is a public suffix.

    Listed suffixes plus the default rule: any single label is one.
    """
    return "." not in domain or domain in PUBLIC_SUFFIXES


def registrable_domain(host: str) -> str:
    """The "site" of ``host``: its public suffix plus one label.

    Used to tell same-site from cross-site requests (SameSite). A host that
    is itself a suffix, or an IP address, is its own site.
    """
    if ":" in host or host.replace(".", "").isdigit():
        return host  # IPv6 or IPv4 literal
    labels = host.split(".")
    # the longest listed suffix wins; the default rule is the last label
    for i in range(1, len(labels)):
        if ".".join(labels[i:]) in PUBLIC_SUFFIXES or i == len(labels) - 1:
            return ".".join(labels[i - 1 :])
    return host

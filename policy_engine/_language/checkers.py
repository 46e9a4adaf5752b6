"""Validity checks generated from the JSON Schemas under `schemas/` (see `schemas.fast_checker`).

Do not edit: `python -m policy_engine._tools.checkers` writes this file from the schemas, and a test
checks that it matches them. A schema whose SHA-256 with the generator's (`schemas.py`) differs from the
one below is checked by code generated from it when first used."""
# ruff: noqa
# mypy: ignore-errors
# fmt: off
from .schemas import _HELPERS

globals().update(_HELPERS)  # the names the generated code reads
SOURCE_SHA256 = {
    'policy': 'a0fbeef250da7d3195a6aa76b40278cadfa6c1f203c9beca8b68c6d2bdc64076',
    'request': '90735322f7aabf769f04ab1303491290a95274ce52443f26616ce377461b2543',
    'testcase': 'de59f8f1382058dcc515c0d4e54eccf3b2ddc5ef2d9cfd8338c4ac896f0863ec',
}

# policy.json
def _policy_f11(v):
    if type(v) not in _SCALARS or (type(v), v) not in _policy_c12: return False
    return True

def _policy_f13(v):
    if type(v) not in _SCALARS or (type(v), v) not in _policy_c14: return False
    return True

def _policy_f17(v):
    if type(v) is dict:
        if 'url' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _policy_c18.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _policy_f19(v):
    if type(v) is dict:
        if 'document' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _policy_c20.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _policy_f24(v):
    if type(v) not in _SCALARS or (type(v), v) not in _policy_c25: return False
    return True

def _policy_r16(v):
    if not (_policy_f17(v) or _policy_f19(v)): return False
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'provenance' not in v: return False
        for k, x in v.items():
            if k == 'url':
                if type(x) is not str or x not in _policy_c21:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and len(x) < 1: return False
                    if len(_policy_c21) < 65536: _policy_c21.add(x)
            elif k == 'document':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'date':
                if type(x) is not str or x not in _policy_c23:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c22.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_policy_c23) < 65536: _policy_c23.add(x)
            elif k == 'note':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            else:
                f = _policy_c26.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _policy_f15(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _policy_r16(x): return False
    return True

def _policy_r28(v):
    if type(v) is str and v in _policy_c30: return True
    if type(v) is str and len(v) > 80: return False
    if not ((type(v) is str and len(v) <= _MAXSTR and (v.isascii() or _utf8(v)) and (len(v) <= _SHORT or _fits(v)))): return False
    if type(v) is str and _policy_c29.search(v) is None: return False
    if len(_policy_c30) < 65536: _policy_c30.add(v)
    return True

def _policy_r33(v):
    if not ((type(v) is str and len(v) <= _MAXSTR and (v.isascii() or _utf8(v)) and (len(v) <= _SHORT or _fits(v))) or (type(v) is float and _finite(v) or type(v) is int and (-_SAFE <= v <= _SAFE or _exact(v))) or type(v) is bool): return False
    return True

def _policy_f32(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _policy_r33(x): return False
    return True

def _policy_f31(v):
    if type(v) is list:
        if not _policy_f32(v): return False
    elif type(v) is str or (type(v) is int or type(v) is float) or type(v) is bool:
        if not _policy_r33(v): return False
    else:
        return False
    return True

def _policy_f27(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        for k, x in v.items():
            if type(k) is not str: return False
            if not _policy_r28(k): return False
            f = _policy_c34.get(k)
            if f is None:
                if not _policy_f31(x): return False
            elif not f(x): return False
    return True

def _policy_f39(v):
    if type(v) is dict:
        if 'outcome' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _policy_c40.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _policy_f41(v):
    if type(v) is dict:
        if 'message' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _policy_c42.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _policy_f43(v):
    if type(v) is dict:
        if 'remedies' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _policy_c44.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _policy_f38(v):
    if not (_policy_f39(v) or _policy_f41(v) or _policy_f43(v)): return False
    return True

def _policy_f37(v):
    if _policy_f38(v): return False
    if type(v) is dict:
        if 'derive' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _policy_c45.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _policy_f47(v):
    if type(v) is dict:
        if 'derive' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _policy_c48.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _policy_f46(v):
    if _policy_f47(v): return False
    if type(v) is dict:
        if 'outcome' not in v: return False
        if 'message' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _policy_c49.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _policy_f60(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _policy_r33(x): return False
    return True

def _policy_f61(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'ref' not in v: return False
        for k, x in v.items():
            if k == 'ref':
                if type(x) is not str or x not in _policy_c63:
                    if type(x) is str and len(x) > 80: return False
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c62.search(x) is None: return False
                    if len(_policy_c63) < 65536: _policy_c63.add(x)
            else:
                f = _policy_c64.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _policy_f65(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'field' not in v: return False
        for k, x in v.items():
            if k == 'field':
                if type(x) is not str or x not in _policy_c67:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c66.search(x) is None: return False
                    if len(_policy_c67) < 65536: _policy_c67.add(x)
            else:
                f = _policy_c68.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _policy_f70(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        for k, x in v.items():
            if k == 'years':
                if not ((type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)) or type(x) is float and x.is_integer())): return False
                if type(x) in (int, float) and x < -100: return False
                if type(x) in (int, float) and x > 100: return False
            elif k == 'months':
                if not ((type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)) or type(x) is float and x.is_integer())): return False
                if type(x) in (int, float) and x < -1200: return False
                if type(x) in (int, float) and x > 1200: return False
            elif k == 'days':
                if not ((type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)) or type(x) is float and x.is_integer())): return False
                if type(x) in (int, float) and x < -36500: return False
                if type(x) in (int, float) and x > 36500: return False
            else:
                f = _policy_c71.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _policy_f69(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'as_of' not in v: return False
        for k, x in v.items():
            f = _policy_c72.get(k)
            if f is None:
                return False
            elif not f(x): return False
    return True

def _policy_r59(v):
    if type(v) is dict and 'ref' in v:
        if not _policy_f61(v): return False
    elif type(v) is dict and 'field' in v:
        if not _policy_f65(v): return False
    elif type(v) is dict and 'as_of' in v:
        if not _policy_f69(v): return False
    elif type(v) is str or (type(v) is int or type(v) is float) or type(v) is bool:
        if not _policy_r33(v): return False
    elif type(v) is list:
        if not _policy_f60(v): return False
    else:
        return False
    return True

def _policy_r56(v):
    if type(v) is dict and len(v) < 2: return False
    if not (type(v) is dict): return False
    if type(v) is dict:
        if len(v) > 2: return False
        if 'field' not in v: return False
        for k, x in v.items():
            if k == 'field':
                if type(x) is not str or x not in _policy_c58:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c57.search(x) is None: return False
                    if len(_policy_c58) < 65536: _policy_c58.add(x)
            elif k == 'exists':
                if not (type(x) is bool): return False
            else:
                f = _policy_c73.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _policy_r75(v):
    if type(v) not in _SCALARS or (type(v), v) not in _policy_c76: return False
    return True

def _policy_f79(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'not' not in v: return False
        for k, x in v.items():
            f = _policy_c80.get(k)
            if f is None:
                return False
            elif not f(x): return False
    return True

def _policy_f82(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _policy_r78(x): return False
    return True

def _policy_f81(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'any' not in v: return False
        for k, x in v.items():
            f = _policy_c83.get(k)
            if f is None:
                return False
            elif not f(x): return False
    return True

def _policy_f85(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _policy_r78(x): return False
    return True

def _policy_f84(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'all' not in v: return False
        for k, x in v.items():
            f = _policy_c86.get(k)
            if f is None:
                return False
            elif not f(x): return False
    return True

def _policy_r78(v):
    if type(v) is dict and 'field' in v:
        if not _policy_r56(v): return False
    elif type(v) is dict and 'not' in v:
        if not _policy_f79(v): return False
    elif type(v) is dict and 'any' in v:
        if not _policy_f81(v): return False
    elif type(v) is dict and 'all' in v:
        if not _policy_f84(v): return False
    else:
        return False
    return True

def _policy_f77(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _policy_r78(x): return False
    return True

def _policy_r74(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'some' not in v: return False
        if 'where' not in v: return False
        for k, x in v.items():
            f = _policy_c87.get(k)
            if f is None:
                return False
            elif not f(x): return False
    return True

def _policy_f90(v):
    if type(v) is dict:
        if 'where' not in v: return False
        if 'distinct' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _policy_c91.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _policy_f92(v):
    if type(v) is dict:
        if 'merge' not in v: return False
        if 'distinct' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _policy_c93.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _policy_f89(v):
    if not (_policy_f90(v) or _policy_f92(v)): return False
    return True

def _policy_f96(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _policy_r78(x): return False
    return True

def _policy_f97(v):
    if type(v) not in _SCALARS or (type(v), v) not in _policy_c98: return False
    return True

def _policy_f99(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'field' not in v: return False
        if 'within_days' not in v: return False
        for k, x in v.items():
            if k == 'field':
                if type(x) is not str or x not in _policy_c101:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c100.search(x) is None: return False
                    if len(_policy_c101) < 65536: _policy_c101.add(x)
            elif k == 'within_days':
                if not ((type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)) or type(x) is float and x.is_integer())): return False
                if type(x) in (int, float) and x < 1: return False
                if type(x) in (int, float) and x > 3650: return False
            else:
                f = _policy_c102.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _policy_r88(v):
    if _policy_f89(v): return False
    if type(v) is dict and len(v) < 2: return False
    if type(v) is dict and 'including' in v and not ('distinct' in v): return False
    if not (type(v) is dict): return False
    if type(v) is dict:
        if len(v) > 5: return False
        if 'count' not in v: return False
        for k, x in v.items():
            if k == 'equals':
                if not ((type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)) or type(x) is float and x.is_integer())): return False
                if type(x) in (int, float) and x < 0: return False
            elif k == 'not_equals':
                if not ((type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)) or type(x) is float and x.is_integer())): return False
                if type(x) in (int, float) and x < 0: return False
            elif k == 'less_than':
                if not ((type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)) or type(x) is float and x.is_integer())): return False
                if type(x) in (int, float) and x < 0: return False
            elif k == 'at_most':
                if not ((type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)) or type(x) is float and x.is_integer())): return False
                if type(x) in (int, float) and x < 0: return False
            elif k == 'greater_than':
                if not ((type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)) or type(x) is float and x.is_integer())): return False
                if type(x) in (int, float) and x < 0: return False
            elif k == 'at_least':
                if not ((type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)) or type(x) is float and x.is_integer())): return False
                if type(x) in (int, float) and x < 0: return False
            elif k == 'including':
                if type(x) is not str or x not in _policy_c95:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c94.search(x) is None: return False
                    if len(_policy_c95) < 65536: _policy_c95.add(x)
            else:
                f = _policy_c103.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _policy_f104(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'derived' not in v: return False
        for k, x in v.items():
            if k == 'derived':
                if type(x) is not str or x not in _policy_c106:
                    if type(x) is str and len(x) > 80: return False
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c105.search(x) is None: return False
                    if len(_policy_c106) < 65536: _policy_c106.add(x)
            else:
                f = _policy_c107.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _policy_f108(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'not' not in v: return False
        for k, x in v.items():
            f = _policy_c109.get(k)
            if f is None:
                return False
            elif not f(x): return False
    return True

def _policy_f111(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _policy_r55(x): return False
    return True

def _policy_f110(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'any' not in v: return False
        for k, x in v.items():
            f = _policy_c112.get(k)
            if f is None:
                return False
            elif not f(x): return False
    return True

def _policy_f114(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _policy_r55(x): return False
    return True

def _policy_f113(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'all' not in v: return False
        for k, x in v.items():
            f = _policy_c115.get(k)
            if f is None:
                return False
            elif not f(x): return False
    return True

def _policy_r55(v):
    if type(v) is dict and 'field' in v:
        if not _policy_r56(v): return False
    elif type(v) is dict and 'some' in v:
        if not _policy_r74(v): return False
    elif type(v) is dict and 'count' in v:
        if not _policy_r88(v): return False
    elif type(v) is dict and 'derived' in v:
        if not _policy_f104(v): return False
    elif type(v) is dict and 'not' in v:
        if not _policy_f108(v): return False
    elif type(v) is dict and 'any' in v:
        if not _policy_f110(v): return False
    elif type(v) is dict and 'all' in v:
        if not _policy_f113(v): return False
    else:
        return False
    return True

def _policy_f54(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _policy_r55(x): return False
    return True

def _policy_f116(v):
    if type(v) not in _SCALARS or (type(v), v) not in _policy_c117: return False
    return True

def _policy_r118(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'en' not in v: return False
        if 'zh' not in v: return False
        for k, x in v.items():
            if k == 'en':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'zh':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            else:
                f = _policy_c119.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _policy_r121(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'code' not in v: return False
        if 'en' not in v: return False
        if 'zh' not in v: return False
        for k, x in v.items():
            if k == 'code':
                if type(x) is not str or x not in _policy_c123:
                    if type(x) is str and len(x) > 80: return False
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c122.search(x) is None: return False
                    if len(_policy_c123) < 65536: _policy_c123.add(x)
            elif k == 'en':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'zh':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            else:
                f = _policy_c124.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _policy_f120(v):
    if not (type(v) is list): return False
    if type(v) is list:
        for x in v:
            if not _policy_r121(x): return False
    return True

def _policy_f125(v):
    if type(v) not in _SCALARS or (type(v), v) not in _policy_c126: return False
    return True

def _policy_f128(v):
    if not ((type(v) is int and (-_SAFE <= v <= _SAFE or _exact(v)) or type(v) is float and v.is_integer())): return False
    if type(v) in (int, float) and v < 0: return False
    return True

def _policy_f127(v):
    if not (type(v) is list): return False
    if type(v) is list:
        for x in v:
            if not _policy_f128(x): return False
    return True

def _policy_r36(v):
    if (bool(_policy_f37(v)) + bool(_policy_f46(v))) != 1: return False
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'id' not in v: return False
        if 'when' not in v: return False
        for k, x in v.items():
            if k == 'id':
                if type(x) is not str or x not in _policy_c51:
                    if type(x) is str and len(x) > 80: return False
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c50.search(x) is None: return False
                    if len(_policy_c51) < 65536: _policy_c51.add(x)
            elif k == 'description':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'derive':
                if type(x) is not str or x not in _policy_c53:
                    if type(x) is str and len(x) > 80: return False
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c52.search(x) is None: return False
                    if len(_policy_c53) < 65536: _policy_c53.add(x)
            else:
                f = _policy_c129.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _policy_f35(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _policy_r36(x): return False
    return True

def _policy_f0(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'id' not in v: return False
        if 'version' not in v: return False
        if 'platform' not in v: return False
        if 'effective_from' not in v: return False
        if 'title' not in v: return False
        if 'sources' not in v: return False
        if 'rules' not in v: return False
        for k, x in v.items():
            if k == '$schema':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'id':
                if type(x) is not str or x not in _policy_c2:
                    if type(x) is str and len(x) > 120: return False
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c1.search(x) is None: return False
                    if len(_policy_c2) < 65536: _policy_c2.add(x)
            elif k == 'version':
                if type(x) is not str or x not in _policy_c4:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c3.search(x) is None: return False
                    if len(_policy_c4) < 65536: _policy_c4.add(x)
            elif k == 'platform':
                if type(x) is not str or x not in _policy_c6:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c5.search(x) is None: return False
                    if len(_policy_c6) < 65536: _policy_c6.add(x)
            elif k == 'effective_from':
                if type(x) is not str or x not in _policy_c8:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c7.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_policy_c8) < 65536: _policy_c8.add(x)
            elif k == 'effective_until':
                if type(x) is not str or x not in _policy_c10:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _policy_c9.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_policy_c10) < 65536: _policy_c10.add(x)
            elif k == 'effective_from_note':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'title':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'description':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            else:
                f = _policy_c130.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

_policy_c1 = _ecma('^[a-z0-9]+([.-][a-z0-9]+)*$')
_policy_c2 = set()
_policy_c3 = _ecma('^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$')
_policy_c4 = set()
_policy_c5 = _ecma('^([a-z0-9]+(-[a-z0-9]+)*|\\*)$')
_policy_c6 = set()
_policy_c7 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_policy_c8 = set()
_policy_c9 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_policy_c10 = set()
_policy_c12 = frozenset({(str, 'assumed'), (str, 'earliest-dated-source'), (str, 'stated')})
_policy_c14 = frozenset({(str, 'allow'), (str, 'deny'), (str, 'review')})
_policy_c18 = {}
_policy_c20 = {}
_policy_c21 = set()
_policy_c22 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_policy_c23 = set()
_policy_c25 = frozenset({(str, 'article-only'), (str, 'illustrative'), (str, 'sourced')})
_policy_c26 = {'provenance': _policy_f24}
_policy_c29 = _ecma('^[a-z][a-z0-9]*([_-][a-z0-9]+)*$')
_policy_c30 = set()
_policy_c34 = {}
_policy_c40 = {}
_policy_c42 = {}
_policy_c44 = {}
_policy_c45 = {}
_policy_c48 = {}
_policy_c49 = {}
_policy_c50 = _ecma('^[a-z][a-z0-9]*([_-][a-z0-9]+)*$')
_policy_c51 = set()
_policy_c52 = _ecma('^[a-z][a-z0-9]*([_-][a-z0-9]+)*$')
_policy_c53 = set()
_policy_c57 = _ecma('^(request|seller|product|item)(\\.[a-z_][a-z0-9_]*)*$')
_policy_c58 = set()
_policy_c62 = _ecma('^[a-z][a-z0-9]*([_-][a-z0-9]+)*$')
_policy_c63 = set()
_policy_c64 = {}
_policy_c66 = _ecma('^(request|seller|product|item)(\\.[a-z_][a-z0-9_]*)*$')
_policy_c67 = set()
_policy_c68 = {}
_policy_c71 = {}
_policy_c72 = {'as_of': _policy_f70}
_policy_c73 = {'equals': _policy_r59, 'not_equals': _policy_r59, 'less_than': _policy_r59, 'at_most': _policy_r59, 'greater_than': _policy_r59, 'at_least': _policy_r59, 'in': _policy_r59, 'not_in': _policy_r59, 'under': _policy_r59, 'includes': _policy_r59, 'contains': _policy_r59, 'matches': _policy_r59}
_policy_c76 = frozenset({(str, 'product.certifications'), (str, 'seller.authorizations'), (str, 'seller.categories'), (str, 'seller.commitments'), (str, 'seller.documents'), (str, 'seller.grants'), (str, 'seller.trademarks'), (str, 'seller.violations')})
_policy_c80 = {'not': _policy_r78}
_policy_c83 = {'any': _policy_f82}
_policy_c86 = {'all': _policy_f85}
_policy_c87 = {'some': _policy_r75, 'where': _policy_f77}
_policy_c91 = {}
_policy_c93 = {}
_policy_c94 = _ecma('^(request|seller|product|item)(\\.[a-z_][a-z0-9_]*)*$')
_policy_c95 = set()
_policy_c98 = frozenset({(str, 'main_category')})
_policy_c100 = _ecma('^(request|seller|product|item)(\\.[a-z_][a-z0-9_]*)*$')
_policy_c101 = set()
_policy_c102 = {}
_policy_c103 = {'count': _policy_r75, 'where': _policy_f96, 'distinct': _policy_f97, 'merge': _policy_f99}
_policy_c105 = _ecma('^[a-z][a-z0-9]*([_-][a-z0-9]+)*$')
_policy_c106 = set()
_policy_c107 = {}
_policy_c109 = {'not': _policy_r55}
_policy_c112 = {'any': _policy_f111}
_policy_c115 = {'all': _policy_f114}
_policy_c117 = frozenset({(str, 'advisory'), (str, 'allow'), (str, 'deny'), (str, 'review')})
_policy_c119 = {}
_policy_c122 = _ecma('^[a-z][a-z0-9]*([_-][a-z0-9]+)*$')
_policy_c123 = set()
_policy_c124 = {}
_policy_c126 = frozenset({(str, 'article-only'), (str, 'borrowed'), (str, 'illustrative'), (str, 'sourced')})
_policy_c129 = {'when': _policy_f54, 'outcome': _policy_f116, 'message': _policy_r118, 'remedies': _policy_f120, 'provenance': _policy_f125, 'source_refs': _policy_f127}
_policy_c130 = {'effective_from_basis': _policy_f11, 'default_outcome': _policy_f13, 'sources': _policy_f15, 'data': _policy_f27, 'rules': _policy_f35}

# request.json
def _request_f8(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c9: return False
    return True

def _request_f10(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c11: return False
    return True

def _request_r13(v):
    if type(v) is str and v in _request_c15: return True
    if not ((type(v) is str and len(v) <= _MAXSTR and (v.isascii() or _utf8(v)) and (len(v) <= _SHORT or _fits(v)))): return False
    if type(v) is str and _request_c14.search(v) is None: return False
    if len(_request_c15) < 65536: _request_c15.add(v)
    return True

def _request_f12(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_r13(x): return False
    return True

def _request_f16(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_r13(x): return False
    return True

def _request_f25(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c26: return False
    return True

def _request_f27(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c28: return False
    return True

def _request_f29(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c30: return False
    return True

def _request_f32(v):
    if not ((type(v) is int and (-_SAFE <= v <= _SAFE or _exact(v)) or type(v) is float and v.is_integer())): return False
    if type(v) in (int, float) and v < 1: return False
    if type(v) in (int, float) and v > 45: return False
    return True

def _request_f31(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_f32(x): return False
    return True

def _request_f34(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c35: return False
    return True

def _request_f33(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_f34(x): return False
    return True

def _request_f18(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'mark' not in v: return False
        if 'status' not in v: return False
        for k, x in v.items():
            if k == 'mark':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'office':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'filed_on':
                if type(x) is not str or x not in _request_c20:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c19.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_request_c20) < 65536: _request_c20.add(x)
            elif k == 'registered_on':
                if type(x) is not str or x not in _request_c22:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c21.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_request_c22) < 65536: _request_c22.add(x)
            elif k == 'expires_on':
                if type(x) is not str or x not in _request_c24:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c23.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_request_c24) < 65536: _request_c24.add(x)
            elif k == 'owner':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'owned_by_seller':
                if not (type(x) is bool): return False
            else:
                f = _request_c36.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _request_f17(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_f18(x): return False
    return True

def _request_f44(v):
    if not ((type(v) is str and len(v) <= _MAXSTR and (v.isascii() or _utf8(v)) and (len(v) <= _SHORT or _fits(v)))): return False
    return True

def _request_f43(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_f44(x): return False
    return True

def _request_f46(v):
    if not ((type(v) is str and len(v) <= _MAXSTR and (v.isascii() or _utf8(v)) and (len(v) <= _SHORT or _fits(v)))): return False
    return True

def _request_f45(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_f46(x): return False
    return True

def _request_f47(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c48: return False
    return True

def _request_f51(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c52: return False
    return True

def _request_f50(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'grantor' not in v: return False
        if 'grantee' not in v: return False
        for k, x in v.items():
            if k == 'grantor':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'grantee':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'sublicensable':
                if not (type(x) is bool): return False
            else:
                f = _request_c53.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _request_f49(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_f50(x): return False
    return True

def _request_f38(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'brand' not in v: return False
        for k, x in v.items():
            if k == 'brand':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'grantor':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'level':
                if not ((type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)) or type(x) is float and x.is_integer())): return False
                if type(x) in (int, float) and x < 1: return False
            elif k == 'valid_from':
                if type(x) is not str or x not in _request_c40:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c39.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_request_c40) < 65536: _request_c40.add(x)
            elif k == 'valid_to':
                if type(x) is not str or x not in _request_c42:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c41.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_request_c42) < 65536: _request_c42.add(x)
            elif k == 'sublicensable':
                if not (type(x) is bool): return False
            elif k == 'chain_complete':
                if not (type(x) is bool): return False
            elif k == 'chain_sublicensed':
                if not (type(x) is bool): return False
            else:
                f = _request_c54.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _request_f37(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_f38(x): return False
    return True

def _request_f65(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c66: return False
    return True

def _request_f67(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c68: return False
    return True

def _request_f56(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'kind' not in v: return False
        if 'status' not in v: return False
        for k, x in v.items():
            if k == 'kind':
                if type(x) is not str or x not in _request_c58:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c57.search(x) is None: return False
                    if len(_request_c58) < 65536: _request_c58.add(x)
            elif k == 'platform':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'category':
                if type(x) is not str or x not in _request_c60:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c59.search(x) is None: return False
                    if len(_request_c60) < 65536: _request_c60.add(x)
            elif k == 'brand':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'granted_on':
                if type(x) is not str or x not in _request_c62:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c61.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_request_c62) < 65536: _request_c62.add(x)
            elif k == 'expires_on':
                if type(x) is not str or x not in _request_c64:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c63.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_request_c64) < 65536: _request_c64.add(x)
            else:
                f = _request_c69.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _request_f55(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_f56(x): return False
    return True

def _request_f71(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'kind' not in v: return False
        for k, x in v.items():
            if k == 'kind':
                if type(x) is not str or x not in _request_c73:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c72.search(x) is None: return False
                    if len(_request_c73) < 65536: _request_c73.add(x)
            elif k == 'brand':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'issued_on':
                if type(x) is not str or x not in _request_c75:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c74.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_request_c75) < 65536: _request_c75.add(x)
            elif k == 'stamped':
                if not (type(x) is bool): return False
            else:
                f = _request_c76.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _request_f70(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_f71(x): return False
    return True

def _request_f83(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c84: return False
    return True

def _request_f85(v):
    if type(v) not in _SCALARS or (type(v), v) not in _request_c86: return False
    return True

def _request_f78(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'kind' not in v: return False
        if 'status' not in v: return False
        for k, x in v.items():
            if k == 'kind':
                if type(x) is not str or x not in _request_c80:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c79.search(x) is None: return False
                    if len(_request_c80) < 65536: _request_c80.add(x)
            elif k == 'platform':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'brand':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'source':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'occurred_on':
                if type(x) is not str or x not in _request_c82:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c81.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_request_c82) < 65536: _request_c82.add(x)
            else:
                f = _request_c87.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _request_f77(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_f78(x): return False
    return True

def _request_f89(v):
    if type(v) is str and _request_c90.search(v) is None: return False
    return True

def _request_f91(v):
    if not ((type(v) is float and _finite(v) or type(v) is int and (-_SAFE <= v <= _SAFE or _exact(v)))): return False
    return True

def _request_f88(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if len(v) > 100: return False
        for k, x in v.items():
            if type(k) is not str: return False
            if not _request_f89(k): return False
            f = _request_c92.get(k)
            if f is None:
                if not _request_f91(x): return False
            elif not f(x): return False
    return True

def _request_f5(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        for k, x in v.items():
            if k == 'id':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'legal_name':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'country':
                if type(x) is not str or x not in _request_c7:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c6.search(x) is None: return False
                    if len(_request_c7) < 65536: _request_c7.add(x)
            elif k == 'store_type':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            else:
                f = _request_c93.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _request_f98(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'scheme' not in v: return False
        for k, x in v.items():
            if k == 'scheme':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'valid_to':
                if type(x) is not str or x not in _request_c100:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c99.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_request_c100) < 65536: _request_c100.add(x)
            else:
                f = _request_c101.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _request_f97(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) > 1000: return False
    if type(v) is list:
        for x in v:
            if not _request_f98(x): return False
    return True

def _request_f102(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'amount' not in v: return False
        if 'currency' not in v: return False
        for k, x in v.items():
            if k == 'amount':
                if not ((type(x) is float and _finite(x) or type(x) is int and (-_SAFE <= x <= _SAFE or _exact(x)))): return False
                if type(x) in (int, float) and x < 0: return False
            elif k == 'currency':
                if type(x) is not str or x not in _request_c104:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c103.search(x) is None: return False
                    if len(_request_c104) < 65536: _request_c104.add(x)
            else:
                f = _request_c105.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _request_f107(v):
    if type(v) is str and _request_c108.search(v) is None: return False
    return True

def _request_f109(v):
    if not ((type(v) is str and len(v) <= _MAXSTR and (v.isascii() or _utf8(v)) and (len(v) <= _SHORT or _fits(v))) or (type(v) is float and _finite(v) or type(v) is int and (-_SAFE <= v <= _SAFE or _exact(v))) or type(v) is bool): return False
    return True

def _request_f106(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if len(v) > 100: return False
        for k, x in v.items():
            if type(k) is not str: return False
            if not _request_f107(k): return False
            f = _request_c110.get(k)
            if f is None:
                if not _request_f109(x): return False
            elif not f(x): return False
    return True

def _request_f94(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'category' not in v: return False
        for k, x in v.items():
            if k == 'id':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'title':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'description':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'category':
                if type(x) is not str or x not in _request_c96:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c95.search(x) is None: return False
                    if len(_request_c96) < 65536: _request_c96.add(x)
            elif k == 'brand':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x))) or x is None): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'condition':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            else:
                f = _request_c111.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _request_f0(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'platform' not in v: return False
        if 'seller' not in v: return False
        if 'product' not in v: return False
        for k, x in v.items():
            if k == 'platform':
                if type(x) is not str or x not in _request_c2:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c1.search(x) is None: return False
                    if len(_request_c2) < 65536: _request_c2.add(x)
            elif k == 'marketplace':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'as_of':
                if type(x) is not str or x not in _request_c4:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and _request_c3.search(x) is None: return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_request_c4) < 65536: _request_c4.add(x)
            else:
                f = _request_c112.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

_request_c1 = _ecma('^[a-z0-9]+(-[a-z0-9]+)*$')
_request_c2 = set()
_request_c3 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_request_c4 = set()
_request_c6 = _ecma('^[A-Z]{2}$')
_request_c7 = set()
_request_c9 = frozenset({(str, 'enterprise'), (str, 'individual'), (str, 'individual_business')})
_request_c11 = frozenset({(str, 'active'), (str, 'closed'), (str, 'frozen'), (str, 'restricted'), (str, 'suspended'), (str, 'warned')})
_request_c14 = _ecma('^[a-z0-9]+(-[a-z0-9]+)*(/[a-z0-9]+(-[a-z0-9]+)*){0,7}$')
_request_c15 = set()
_request_c19 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_request_c20 = set()
_request_c21 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_request_c22 = set()
_request_c23 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_request_c24 = set()
_request_c26 = frozenset({(str, 'abandoned'), (str, 'cancelled'), (str, 'expired'), (str, 'pending'), (str, 'refused'), (str, 'registered')})
_request_c28 = frozenset({(str, 'design_only'), (str, 'design_with_text'), (str, 'word')})
_request_c30 = frozenset({(str, 'principal'), (str, 'supplemental')})
_request_c35 = frozenset({(str, 'generic_term'), (str, 'person_or_place_name'), (str, 'platform_name'), (str, 'similar_to_famous_brand')})
_request_c36 = {'status': _request_f25, 'mark_type': _request_f27, 'register': _request_f29, 'classes': _request_f31, 'restricted_flags': _request_f33}
_request_c39 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_request_c40 = set()
_request_c41 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_request_c42 = set()
_request_c48 = frozenset({(str, 'distribution_agreement'), (str, 'invoice'), (str, 'letter_of_authorization'), (str, 'manufacturing_agreement'), (str, 'self_declaration'), (str, 'supplier_permission')})
_request_c52 = frozenset({(str, 'distribution_agreement'), (str, 'invoice'), (str, 'letter_of_authorization'), (str, 'manufacturing_agreement'), (str, 'self_declaration'), (str, 'supplier_permission')})
_request_c53 = {'document_type': _request_f51}
_request_c54 = {'platforms': _request_f43, 'territories': _request_f45, 'document_type': _request_f47, 'chain': _request_f49}
_request_c57 = _ecma('^[a-z][a-z0-9_]*$')
_request_c58 = set()
_request_c59 = _ecma('^[a-z0-9]+(-[a-z0-9]+)*(/[a-z0-9]+(-[a-z0-9]+)*){0,7}$')
_request_c60 = set()
_request_c61 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_request_c62 = set()
_request_c63 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_request_c64 = set()
_request_c66 = frozenset({(str, 'approved'), (str, 'expired'), (str, 'pending'), (str, 'rejected'), (str, 'revoked')})
_request_c68 = frozenset({(str, 'authorization'), (str, 'pending_mark'), (str, 'registered_mark')})
_request_c69 = {'status': _request_f65, 'basis': _request_f67}
_request_c72 = _ecma('^[a-z][a-z0-9_]*$')
_request_c73 = set()
_request_c74 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_request_c75 = set()
_request_c76 = {}
_request_c79 = _ecma('^[a-z][a-z0-9_]*$')
_request_c80 = set()
_request_c81 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_request_c82 = set()
_request_c84 = frozenset({(str, 'general'), (str, 'serious')})
_request_c86 = frozenset({(str, 'expired'), (str, 'open'), (str, 'retracted'), (str, 'upheld')})
_request_c87 = {'severity': _request_f83, 'status': _request_f85}
_request_c90 = _ecma('^[a-z_][a-z0-9_]*$')
_request_c92 = {}
_request_c93 = {'entity_type': _request_f8, 'account_status': _request_f10, 'categories': _request_f12, 'commitments': _request_f16, 'trademarks': _request_f17, 'authorizations': _request_f37, 'grants': _request_f55, 'documents': _request_f70, 'violations': _request_f77, 'metrics': _request_f88}
_request_c95 = _ecma('^[a-z0-9]+(-[a-z0-9]+)*(/[a-z0-9]+(-[a-z0-9]+)*){0,7}$')
_request_c96 = set()
_request_c99 = _ecma('^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
_request_c100 = set()
_request_c101 = {}
_request_c103 = _ecma('^[A-Z]{3}$')
_request_c104 = set()
_request_c105 = {}
_request_c108 = _ecma('^[a-z_][a-z0-9_]*$')
_request_c110 = {}
_request_c111 = {'certifications': _request_f97, 'price': _request_f102, 'attributes': _request_f106}
_request_c112 = {'seller': _request_f5, 'product': _request_f94}

# testcase.json
def _testcase_f1(v):
    if type(v) is dict:
        if 'request' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _testcase_c2.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _testcase_f3(v):
    if type(v) is dict:
        if 'request_file' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _testcase_c4.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _testcase_f5(v):
    if type(v) is dict:
        if 'cases' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _testcase_c6.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _testcase_f8(v):
    if type(v) is dict:
        if 'expect' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _testcase_c9.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _testcase_f7(v):
    if _testcase_f8(v): return False
    return True

def _testcase_f10(v):
    if type(v) is dict:
        if 'name' not in v: return False
        if 'expect' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _testcase_c11.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _testcase_f13(v):
    if not (type(v) is dict): return False
    return True

def _testcase_f15(v):
    if type(v) is str and _testcase_c16.search(v) is None: return False
    return True

def _testcase_f14(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        for k, x in v.items():
            if type(k) is not str: return False
            if not _testcase_f15(k): return False
            f = _testcase_c17.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _testcase_f19(v):
    if type(v) is dict:
        if 'outcome' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _testcase_c20.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _testcase_f21(v):
    if type(v) is dict:
        if 'error' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _testcase_c22.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _testcase_f25(v):
    if type(v) is dict:
        if 'outcome' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _testcase_c26.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _testcase_f27(v):
    if type(v) is dict:
        if 'error' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _testcase_c28.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _testcase_f24(v):
    if not (_testcase_f25(v) or _testcase_f27(v)): return False
    return True

def _testcase_f23(v):
    if _testcase_f24(v): return False
    if type(v) is dict:
        if 'outcome_not' not in v: return False
        for k, x in v.items():
            if type(k) is not str: return False
            f = _testcase_c29.get(k)
            if f is None:
                pass
            elif not f(x): return False
    return True

def _testcase_f30(v):
    if type(v) not in _SCALARS or (type(v), v) not in _testcase_c31: return False
    return True

def _testcase_f33(v):
    if type(v) not in _SCALARS or (type(v), v) not in _testcase_c34: return False
    return True

def _testcase_f32(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list and len(v) > 1 and not _unique(v): return False
    if type(v) is list:
        for x in v:
            if not _testcase_f33(x): return False
    return True

def _testcase_f36(v):
    if not ((type(v) is str and len(v) <= _MAXSTR and (v.isascii() or _utf8(v)) and (len(v) <= _SHORT or _fits(v)))): return False
    return True

def _testcase_f35(v):
    if not (type(v) is list): return False
    if type(v) is list:
        for x in v:
            if not _testcase_f36(x): return False
    return True

def _testcase_f38(v):
    if not ((type(v) is str and len(v) <= _MAXSTR and (v.isascii() or _utf8(v)) and (len(v) <= _SHORT or _fits(v)))): return False
    return True

def _testcase_f37(v):
    if not (type(v) is list): return False
    if type(v) is list:
        for x in v:
            if not _testcase_f38(x): return False
    return True

def _testcase_f40(v):
    if not ((type(v) is str and len(v) <= _MAXSTR and (v.isascii() or _utf8(v)) and (len(v) <= _SHORT or _fits(v)))): return False
    return True

def _testcase_f39(v):
    if not (type(v) is list): return False
    if type(v) is list:
        for x in v:
            if not _testcase_f40(x): return False
    return True

def _testcase_f42(v):
    if not ((type(v) is str and len(v) <= _MAXSTR and (v.isascii() or _utf8(v)) and (len(v) <= _SHORT or _fits(v)))): return False
    return True

def _testcase_f41(v):
    if not (type(v) is list): return False
    if type(v) is list:
        for x in v:
            if not _testcase_f42(x): return False
    return True

def _testcase_f43(v):
    if type(v) not in _SCALARS or (type(v), v) not in _testcase_c44: return False
    return True

def _testcase_f18(v):
    if (bool(_testcase_f19(v)) + bool(_testcase_f21(v)) + bool(_testcase_f23(v))) != 1: return False
    if not (type(v) is dict): return False
    if type(v) is dict:
        for k, x in v.items():
            f = _testcase_c45.get(k)
            if f is None:
                return False
            elif not f(x): return False
    return True

def _testcase_f49(v):
    if not (type(v) is dict): return False
    return True

def _testcase_r47(v):
    if not (type(v) is dict): return False
    if type(v) is dict:
        if 'name' not in v: return False
        if 'expect' not in v: return False
        for k, x in v.items():
            if k == 'name':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'description':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'as_of':
                if type(x) is not str or x not in _testcase_c48:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_testcase_c48) < 65536: _testcase_c48.add(x)
            else:
                f = _testcase_c50.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

def _testcase_f46(v):
    if not (type(v) is list): return False
    if type(v) is list and len(v) < 1: return False
    if type(v) is list:
        for x in v:
            if not _testcase_r47(x): return False
    return True

def _testcase_f0(v):
    if (bool(_testcase_f1(v)) + bool(_testcase_f3(v))) != 1: return False
    if _testcase_f5(v) and not _testcase_f7(v): return False
    if not _testcase_f5(v) and not _testcase_f10(v): return False
    if not (type(v) is dict): return False
    if type(v) is dict:
        for k, x in v.items():
            if k == '$schema':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'name':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                if type(x) is str and len(x) < 1: return False
            elif k == 'description':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'request_file':
                if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
            elif k == 'as_of':
                if type(x) is not str or x not in _testcase_c12:
                    if not ((type(x) is str and len(x) <= _MAXSTR and (x.isascii() or _utf8(x)) and (len(x) <= _SHORT or _fits(x)))): return False
                    if type(x) is str and not _is_date(x): return False
                    if len(_testcase_c12) < 65536: _testcase_c12.add(x)
            else:
                f = _testcase_c51.get(k)
                if f is None:
                    return False
                elif not f(x): return False
    return True

_testcase_c2 = {}
_testcase_c4 = {}
_testcase_c6 = {}
_testcase_c9 = {}
_testcase_c11 = {}
_testcase_c12 = set()
_testcase_c16 = _ecma('^(/[^/]*)+$')
_testcase_c17 = {}
_testcase_c20 = {}
_testcase_c22 = {}
_testcase_c26 = {}
_testcase_c28 = {}
_testcase_c29 = {}
_testcase_c31 = frozenset({(str, 'allow'), (str, 'deny'), (str, 'review')})
_testcase_c34 = frozenset({(str, 'allow'), (str, 'deny'), (str, 'review')})
_testcase_c44 = frozenset({(str, 'no-policy')})
_testcase_c45 = {'outcome': _testcase_f30, 'outcome_not': _testcase_f32, 'rules': _testcase_f35, 'advisories': _testcase_f37, 'remedies': _testcase_f39, 'derived': _testcase_f41, 'error': _testcase_f43}
_testcase_c48 = set()
_testcase_c50 = {'merge': _testcase_f49, 'overrides': _testcase_f14, 'expect': _testcase_f18}
_testcase_c51 = {'request': _testcase_f13, 'overrides': _testcase_f14, 'expect': _testcase_f18, 'cases': _testcase_f46}

CHECKERS = {
    ('policy', ''): _policy_f0,
    ('request', ''): _request_f0,
    ('request', '/properties/product'): _request_f94,
    ('testcase', ''): _testcase_f0,
}

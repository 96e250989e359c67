"""Chinese names for the synthetic world, and the two name corruptions (variant, homophone).

Surnames are drawn from the commonest surnames with rough weights (assumption: approximate
shares in per mille, in the order published surname rankings give them; no source in reference/),
plus the heteronym surnames that pypinyin reads wrongly (曾, 单, 区, 仇, 解, 查, STACK.md pitfall
16) and two compound surnames, so the matcher meets them. Given names are one or two characters
from a pool of common given-name characters, so namesakes are frequent, as in a real register.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Final

import numpy as np
import opencc
import polars as pl
from pypinyin import Style, lazy_pinyin

__all__ = ["GIVEN_CHARS", "SURNAMES", "homophone_names", "make_names", "variant_names"]

_SURNAME_TABLE: Final = (
    "王71 李70 张67 刘54 陈46 杨31 黄25 赵23 吴21 周20 徐16 孙15 马14 朱13 胡12 郭11 何11 林10 高10 罗9 "
    "郑9 梁8 谢7 宋6 唐6 许6 韩6 冯6 邓6 曹5 彭5 曾5 肖5 田5 董5 袁4 潘4 于4 蒋4 蔡4 余4 杜4 叶4 程4 "
    "苏4 魏4 吕4 丁4 任3 沈3 姚3 卢3 姜3 崔3 钟3 谭3 陆3 汪3 范3 金3 石3 廖3 贾3 夏3 韦3 付3 方3 白3 "
    "邹3 孟3 熊3 秦3 邱3 江3 尹3 薛2 闫2 段2 雷2 侯2 龙2 史2 陶2 黎2 贺2 顾2 毛2 郝2 龚2 邵2 万2 钱2 "
    "严2 覃2 武2 戴2 莫2 孔2 向2 汤2 单1 区1 仇1 解1 查1 欧阳1 司马1")
#: (surname, weight in per mille)
SURNAMES: Final = tuple((t.rstrip("0123456789"), int(t[len(t.rstrip("0123456789")):]))
                        for t in _SURNAME_TABLE.split())
#: Common given-name characters (assumption: chosen from characters frequent in given names).
GIVEN_CHARS: Final = "".join(dict.fromkeys(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力宇鹏飞波宁浩凯俊帆欣怡佳"
    "琪雪梅婷晶晨阳东海峰斌鑫博子涵轩睿哲思源欢颖倩慧莉丹璐新志国庆春龙云林斌彬晓燕立成亮健"
    "振宏德福康永安嘉梓晗一诺依萱可馨若曦雨泽浩然宸铭瑞琳雅婧蕾悦昊天翔鸿毅诚"))

_S2T = opencc.OpenCC("s2t")


def make_names(rng: np.random.Generator, n: int, surnames: pl.Series | None = None) -> pl.Series:
    """``n`` names; a given ``surnames`` column (e.g. a child's father's) replaces the draw."""
    if surnames is None:
        weights = np.array([w for _, w in SURNAMES], dtype=np.float64)
        idx = rng.choice(len(SURNAMES), size=n, p=weights / weights.sum())
        surnames = pl.Series([s for s, _ in SURNAMES]).gather(idx)
    pool = pl.Series(list(GIVEN_CHARS))
    first = pool.gather(rng.integers(0, len(pool), size=n))
    second = pool.gather(rng.integers(0, len(pool), size=n))
    two = pl.Series(rng.random(n) < 0.7)  # assumption: most given names have two characters
    frame = pl.DataFrame({"s": surnames, "a": first, "b": second, "two": two})
    return frame.select(pl.concat_str(
        "s", "a", pl.when("two").then("b").otherwise(pl.lit("")))).to_series().alias("name")


def variant_names(names: pl.Series) -> pl.Series:
    """The names in traditional characters (OpenCC s2t), computed once per distinct name."""
    uniques = names.unique().drop_nulls().to_list()
    return names.replace_strict({u: _S2T.convert(u) for u in uniques}, default=None, return_dtype=pl.String)


@lru_cache(maxsize=1)
def _homophones() -> dict[str, list[str]]:
    """Given-name character → other pool or common characters with the same toneless pinyin."""
    extra = "卫方娥敬菁立俐利莉力理黎礼丽励梨骊伟维薇玮炜苇委唯惟芳坊舫纺仿访婷亭庭廷停挺明鸣铭名茗冥"
    by_sound: dict[str, set[str]] = defaultdict(set)
    for ch in set(GIVEN_CHARS + extra):
        by_sound[lazy_pinyin(ch, style=Style.NORMAL)[0]].add(ch)
    return {ch: sorted(by_sound[lazy_pinyin(ch, style=Style.NORMAL)[0]] - {ch}) for ch in GIVEN_CHARS}


def homophone_names(rng: np.random.Generator, names: list[str], surname_len: list[int]) -> list[str | None]:
    """Each name with one given-name character swapped for a homophone, or None if it has none."""
    table = _homophones()
    out: list[str | None] = []
    picks = rng.random((len(names), 2))
    for name, k, (u, v) in zip(names, surname_len, picks.tolist(), strict=True):
        spots = [i for i in range(k, len(name)) if table.get(name[i])]
        if not spots:
            out.append(None)
            continue
        i = spots[int(u * len(spots))]
        alts = table[name[i]]
        out.append(name[:i] + alts[int(v * len(alts))] + name[i + 1:])
    return out

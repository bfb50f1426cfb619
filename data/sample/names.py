"""Chinese names for the sample district: people, roads, compounds, villages, communities.

Pools are written for Tongren, Guizhou: surnames weighted towards the Han, Tujia and Miao
families common there (杨, 吴, 田, 龙, 石, 冉, 滕, 姚 ...), road and compound names in the style
of the city's streets and estates. Every function takes a ``numpy.random.Generator`` so that
names are reproducible from the seed.
"""

from __future__ import annotations

import numpy as np

# Surname, relative frequency (Tongren leans to 杨, 吴, 田, 龙, 石 more than the national table).
SURNAMES: tuple[tuple[str, float], ...] = (
    ("杨", 9.0),
    ("吴", 6.5),
    ("田", 5.5),
    ("张", 5.0),
    ("李", 5.0),
    ("王", 4.5),
    ("龙", 4.0),
    ("刘", 3.5),
    ("陈", 3.5),
    ("石", 3.5),
    ("罗", 2.8),
    ("周", 2.5),
    ("黄", 2.5),
    ("徐", 2.0),
    ("冉", 2.0),
    ("姚", 1.8),
    ("滕", 1.8),
    ("彭", 1.8),
    ("唐", 1.6),
    ("胡", 1.6),
    ("赵", 1.5),
    ("何", 1.5),
    ("谢", 1.4),
    ("肖", 1.3),
    ("向", 1.3),
    ("麻", 1.0),
    ("蒋", 1.0),
    ("邓", 1.0),
    ("雷", 0.9),
    ("孙", 0.9),
    ("曾", 0.8),
    ("梁", 0.8),
    ("欧阳", 0.3),
    ("舒", 0.8),
    ("安", 0.7),
    ("代", 0.7),
    ("秦", 0.6),
    ("付", 0.6),
    ("任", 0.6),
    ("宋", 0.6),
    ("郑", 0.6),
    ("朱", 0.6),
    ("高", 0.6),
    ("林", 0.5),
    ("袁", 0.5),
    ("邱", 0.5),
    ("蔡", 0.5),
    ("严", 0.4),
    ("侯", 0.4),
)
GIVEN_MALE = tuple("伟强军勇杰涛斌超明华建国平志刚林辉鹏飞波峰磊俊浩宇晨阳军龙文博昌贵兴发江山海成")
GIVEN_FEMALE = tuple("芳娟敏静丽艳玲霞燕红梅英兰秀琴慧婷雪琳颖欣怡倩洁萍莉娜丹凤云春桂珍晓")
GIVEN_ANY = tuple("小安正永德仕家世光祖明学思天子宏立国新承")

MAIN_ROADS = (
    "解放路",
    "中山路",
    "民主路",
    "人民路",
    "和平路",
    "东太大道",
    "清水大道",
    "金滩大道",
    "铜仁大道",
    "梵净山大道",
    "南长城路",
    "北关路",
    "西门路",
    "东门路",
    "光明路",
    "建设路",
    "文化路",
    "桃源大道",
    "杏花路",
    "书院路",
    "环北路",
    "西外环路",
    "川硐大道",
    "正光大道",
    "灯塔大道",
    "白岩溪路",
    "龙井路",
    "锦绣路",
    "凤凰路",
    "思源路",
    "学院路",
    "兴业路",
    "和谐路",
    "团结路",
    "新华路",
    "交通路",
    "体育路",
    "工业大道",
    "马岩路",
    "寨英路",
    "长征路",
    "振兴路",
    "花果山大道",
    "九龙大道",
    "谢桥大道",
    "万山路",
)
TRUNK_ROADS = ("滨江大道", "锦江大道", "环城大道")
LANE_STEMS = (
    "文昌",
    "杨柳",
    "石榴",
    "茶园",
    "竹林",
    "桂花",
    "书香",
    "银杏",
    "樱桃",
    "枫林",
    "月亮",
    "丰收",
    "幸福",
    "友谊",
    "新民",
    "复兴",
    "永安",
    "长青",
    "万福",
    "仁和",
    "德胜",
    "顺德",
    "福寿",
    "吉祥",
    "平安",
    "康宁",
    "如意",
    "锦屏",
    "碧云",
    "青龙",
    "白鹤",
    "金鸡",
    "龙潭",
    "观音",
    "大兴",
    "小江",
    "沙坝",
    "鱼塘",
    "茅溪",
    "铜岩",
    "桐木",
    "落鹅",
    "寨桂",
    "牛角",
)
ORDINALS = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九")
BRIDGES = (
    "锦江大桥",
    "东门大桥",
    "西门大桥",
    "中南门大桥",
    "滨江大桥",
    "龙井大桥",
    "铜岩大桥",
    "清水大桥",
    "桃源大桥",
    "金滩大桥",
    "川硐大桥",
    "谢桥",
    "彩虹桥",
    "梵净大桥",
)
ESTATE_PREFIXES = (
    "锦江",
    "碧江",
    "梵净",
    "东太",
    "金滩",
    "清水",
    "桃源",
    "龙井",
    "凤凰",
    "锦绣",
    "书香",
    "翡翠",
    "阳光",
    "世纪",
    "中央",
    "御景",
    "江山",
    "紫薇",
    "盛世",
    "金色",
    "铜仁",
    "滨江",
    "山水",
    "碧桂",
    "天马",
    "云海",
    "兴隆",
    "九龙",
    "花果山",
    "水岸",
    "名门",
    "恒大",
    "中天",
)
ESTATE_SUFFIXES = (
    "花园",
    "名苑",
    "华府",
    "雅居",
    "新城",
    "豪庭",
    "公馆",
    "一品",
    "嘉园",
    "丽景",
    "国际",
    "佳苑",
    "水岸",
    "府",
    "湾",
    "城",
    "御府",
    "雅苑",
    "星城",
    "壹号",
)
PHASES = ("", "二期", "三期", "四期", "五期")
WORK_UNITS = (
    "烟草公司",
    "供电局",
    "人民医院",
    "粮食局",
    "二中",
    "一中",
    "交通局",
    "税务局",
    "邮电局",
    "林业局",
    "水利局",
    "电信公司",
    "农业银行",
    "建设银行",
    "纺织厂",
    "汞矿",
    "卫生局",
    "百货公司",
    "运输公司",
    "教育局",
    "气象局",
    "自来水公司",
    "木材公司",
    "师范学校",
)
OLD_ESTATE_SUFFIXES = ("宿舍", "家属院", "小区", "职工住宅楼", "生活区")
HAMLET_SUFFIXES = ("湾", "寨", "坡", "坝", "院子", "冲", "坪")
COMMUNITY_STEMS = (
    "中南门",
    "东门",
    "西门",
    "南门",
    "北门",
    "广场",
    "民主",
    "解放",
    "金滩",
    "清水塘",
    "马岩",
    "铜岩",
    "滨江",
    "东太",
    "谢桥",
    "西外",
    "仁义",
    "桐木坪",
    "杨柳",
    "河西",
    "灯塔",
    "矮屯",
    "响塘",
    "高铁新城",
    "川硐",
    "教育园",
    "龙田",
    "正光",
    "老鹰岩",
    "白岩溪",
    "桃源",
    "龙井",
    "锦绣",
    "寨桂",
    "文笔峰",
    "大兴",
    "牛角坪",
    "茶园山",
    "凤凰",
    "书院",
    "石榴坪",
    "花果山",
    "九龙",
    "梵净",
    "紫薇",
    "云海",
    "天马",
    "兴隆",
)
STREET_NAMES = (
    "市中街道",
    "环北街道",
    "河西街道",
    "灯塔街道",
    "川硐街道",
    "正光街道",
    "白岩溪街道",
)


def _weighted(rng: np.random.Generator, pool: tuple[tuple[str, float], ...], n: int):
    names = np.array([p[0] for p in pool])
    weights = np.array([p[1] for p in pool])
    return names[rng.choice(len(pool), size=n, p=weights / weights.sum())]


def person_names(rng: np.random.Generator, n: int, female: np.ndarray | None = None) -> list[str]:
    """``n`` Chinese full names (surname + 1–2 character given name).

    ``female`` (bool array) picks the given-name pool; random when omitted.
    """
    if female is None:
        female = rng.random(n) < 0.5
    surname = _weighted(rng, SURNAMES, n)
    any_pool = np.array(GIVEN_ANY)
    last = _pick(rng, female, n)
    two = rng.random(n) < 0.72
    first = np.where(
        rng.random(n) < 0.5, any_pool[rng.integers(0, len(any_pool), n)], _pick(rng, female, n)
    )
    given = np.where(two, np.char.add(first, last), last)
    return np.char.add(surname, given).tolist()


def _pick(rng: np.random.Generator, female: np.ndarray, n: int) -> np.ndarray:
    male_pool, female_pool = np.array(GIVEN_MALE), np.array(GIVEN_FEMALE)
    return np.where(
        female,
        female_pool[rng.integers(0, len(female_pool), n)],
        male_pool[rng.integers(0, len(male_pool), n)],
    )


class NamePool:
    """Unique names drawn from a generator of candidates; repeats get a phase suffix."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, candidate: str, suffixes: tuple[str, ...] = PHASES) -> str:
        for suffix in suffixes:
            name = candidate + suffix
            if name not in self.used:
                self.used.add(name)
                return name
        k = 2
        while f"{candidate}{k}" in self.used:
            k += 1
        self.used.add(f"{candidate}{k}")
        return f"{candidate}{k}"


def estate_name(rng: np.random.Generator, pool: NamePool) -> str:
    """A modern estate (商品房小区) name, e.g. "锦江花园", "东太御府二期"."""
    prefix = ESTATE_PREFIXES[rng.integers(len(ESTATE_PREFIXES))]
    suffix = ESTATE_SUFFIXES[rng.integers(len(ESTATE_SUFFIXES))]
    return pool.take(prefix + suffix)


def old_estate_name(rng: np.random.Generator, pool: NamePool, road: str) -> str:
    """An older work-unit or street estate, e.g. "供电局家属院", "建设路小区"."""
    if rng.random() < 0.65:
        base = WORK_UNITS[rng.integers(len(WORK_UNITS))]
    else:
        base = road.removesuffix("大道").removesuffix("路").removesuffix("街").removesuffix("巷")
    suffix = OLD_ESTATE_SUFFIXES[rng.integers(len(OLD_ESTATE_SUFFIXES))]
    return pool.take(base + suffix, ("", "一区", "二区", "三区", "四区"))


def hamlet_name(rng: np.random.Generator, pool: NamePool) -> str:
    """A cluster of self-built houses, named like a hamlet: "杨家湾", "吴家寨"."""
    surname = _weighted(rng, SURNAMES[:24], 1)[0]
    suffix = HAMLET_SUFFIXES[rng.integers(len(HAMLET_SUFFIXES))]
    return pool.take(f"{surname}家{suffix}", ("", "上组", "下组", "新组", "一组", "二组"))


def lane_names(rng: np.random.Generator, n: int, used: set[str]) -> list[str]:
    """``n`` distinct lane/street names ("桂花巷", "文昌二巷", "茶园街") not in ``used``."""
    out: list[str] = []
    while len(out) < n:
        stem = LANE_STEMS[rng.integers(len(LANE_STEMS))]
        ordinal = ORDINALS[rng.integers(len(ORDINALS))] if rng.random() < 0.6 else ""
        suffix = "巷" if rng.random() < 0.6 else ("街" if rng.random() < 0.5 else "路")
        name = f"{stem}{ordinal}{suffix}"
        if name not in used:
            used.add(name)
            out.append(name)
    return out

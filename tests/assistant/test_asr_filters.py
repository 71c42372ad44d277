"""The model-free parts of ASR post-processing: hallucination filter, energy gate, script."""

from __future__ import annotations

import math

import numpy as np
import pytest
from asr_fixtures import noise

from assistant.asr_filters import echoes_prompt, is_hallucination, loudest_frame_dbfs
from assistant.chinese_script import contains_cjk, to_simplified


@pytest.mark.parametrize(
    "text",
    [
        "字幕由Amara.org社区提供",
        "字幕由 Amara.org 社區提供",
        "中文字幕提供：某某字幕组",
        "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
        "請不吝點贊訂閱轉發打賞支持明鏡與點點欄目",
        "点赞订阅转发",
        "谢谢观看",
        "谢谢观看！",
        "感谢大家收看",
        "謝謝觀看。",
        "优优独播剧场——YoYo Television Series Exclusive",
        "YoYo Television Series Exclusive",
        "Thank you for watching!",
        "Thanks for watching.",
        "thank you very much for watching",
        "Subtitles by the Amara.org community",
        "Please subscribe to my channel.",
        "Like and subscribe",
    ],
)
def test_known_hallucinations_are_recognised(text):
    assert is_hallucination(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "我想查询银行卡余额",
        "谢谢",  # a customer's real thanks
        "Thank you.",
        "Thank you for your help with my card.",
        "订阅短信通知怎么开通？",  # a word of a hallucination inside a real question
        "How do I subscribe to SMS alerts?",
        "请问转账多久到账？",
        "我看了字幕以后还是不懂怎么转账",
        "How do I report a lost card?",
    ],
)
def test_real_questions_are_kept(text):
    assert not is_hallucination(text)


def test_prompt_echo():
    prompt = "以下是普通话的句子，关于银行业务：账户、余额、转账、银行卡。"
    assert echoes_prompt("这位置是普通话的句子：账户、余额、转账、银行卡。", prompt)
    assert not echoes_prompt("我想查询银行卡余额", prompt)
    assert not echoes_prompt("余额", "")
    assert not echoes_prompt("", prompt)


def test_loudest_frame_level():
    assert loudest_frame_dbfs(np.zeros(16000, np.float32)) == -math.inf
    assert loudest_frame_dbfs(np.zeros(0, np.float32)) == -math.inf
    assert loudest_frame_dbfs(noise(-70, 1.0)) == pytest.approx(-70, abs=1.5)
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32)
    assert loudest_frame_dbfs(tone) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.1)
    # One loud 30 ms burst in 3 s of near silence still counts as loud.
    quiet = noise(-80, 3.0)
    quiet[16000:16480] += tone[:480]
    assert loudest_frame_dbfs(quiet) > -20  # the burst straddles two frames


def test_simplified_conversion():
    assert to_simplified("富士康在印度工廠出現大規模感染") == "富士康在印度工厂出现大规模感染"
    assert to_simplified("我想查詢帳戶餘額") == "我想查询账户余额"
    assert to_simplified("轉帳到帳號") == "转账到账号"
    assert to_simplified("蚊帳") == "蚊帐"
    assert to_simplified("How do I report a lost card?") == "How do I report a lost card?"
    assert to_simplified("余额 银行卡") == "余额 银行卡"


def test_contains_cjk():
    assert contains_cjk("余额") and contains_cjk("card 卡")
    assert not contains_cjk("card") and not contains_cjk("。，！")

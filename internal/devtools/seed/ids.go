package seed

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cardledger/cardledger/domain"
)

// IDNumber builds a valid 18-character citizen ID number (GB 11643): the
// issuing region, the birth date, a 3-digit sequence whose last digit is odd
// for men and even for women, and the ISO 7064 MOD 11-2 check character.
// seq is taken modulo 500 so that the sex digit can be chosen.
func IDNumber(region string, birth time.Time, seq int, sex domain.Sex) string {
	n := (seq % 500) * 2 // even
	if sex == domain.Male {
		n++
	}
	first17 := fmt.Sprintf("%s%s%03d", region, birth.Format("20060102"), n)
	return first17 + string(domain.IDCheckChar(first17))
}

// surnames and givenChars make plausible names; no real person is meant.
var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	givenChars = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国建华志强海燕晓东文斌雪梅春燕子涵浩然雨萱梓轩欣怡宇航思远佳琪")
)

// Name returns a random two- or three-character Chinese name.
func Name(rng *rand.Rand) string {
	name := []rune{surnames[rng.IntN(len(surnames))], givenChars[rng.IntN(len(givenChars))]}
	if rng.IntN(3) > 0 {
		name = append(name, givenChars[rng.IntN(len(givenChars))])
	}
	return string(name)
}

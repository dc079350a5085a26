package domain

import "strings"

// Region is one GB/T 2260 administrative division.
type Region struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// DemoPrefecture is the city the demo data and defaults use: 苏州市.
const DemoPrefecture = "320500"

// provinceName names a two-digit province prefix, or "" if it is none.
func provinceName(prefix string) string {
	switch prefix {
	case "11":
		return "北京市"
	case "12":
		return "天津市"
	case "13":
		return "河北省"
	case "14":
		return "山西省"
	case "15":
		return "内蒙古自治区"
	case "21":
		return "辽宁省"
	case "22":
		return "吉林省"
	case "23":
		return "黑龙江省"
	case "31":
		return "上海市"
	case "32":
		return "江苏省"
	case "33":
		return "浙江省"
	case "34":
		return "安徽省"
	case "35":
		return "福建省"
	case "36":
		return "江西省"
	case "37":
		return "山东省"
	case "41":
		return "河南省"
	case "42":
		return "湖北省"
	case "43":
		return "湖南省"
	case "44":
		return "广东省"
	case "45":
		return "广西壮族自治区"
	case "46":
		return "海南省"
	case "50":
		return "重庆市"
	case "51":
		return "四川省"
	case "52":
		return "贵州省"
	case "53":
		return "云南省"
	case "54":
		return "西藏自治区"
	case "61":
		return "陕西省"
	case "62":
		return "甘肃省"
	case "63":
		return "青海省"
	case "64":
		return "宁夏回族自治区"
	case "65":
		return "新疆维吾尔自治区"
	case "71":
		return "台湾省"
	case "81":
		return "香港特别行政区"
	case "82":
		return "澳门特别行政区"
	}
	return ""
}

// Prefectures returns the prefecture-level divisions the system knows by
// name: all 13 of Jiangsu and the major cities of the other provinces. For
// the four municipalities the code is that of their districts (xx0100).
// Each call returns a fresh slice.
func Prefectures() []Region {
	return []Region{
		// Jiangsu.
		{"320100", "南京市"}, {"320200", "无锡市"}, {"320300", "徐州市"}, {"320400", "常州市"},
		{"320500", "苏州市"}, {"320600", "南通市"}, {"320700", "连云港市"}, {"320800", "淮安市"},
		{"320900", "盐城市"}, {"321000", "扬州市"}, {"321100", "镇江市"}, {"321200", "泰州市"},
		{"321300", "宿迁市"},
		// Elsewhere.
		{"110100", "北京市"}, {"120100", "天津市"}, {"130100", "石家庄市"}, {"130200", "唐山市"},
		{"130600", "保定市"}, {"140100", "太原市"}, {"150100", "呼和浩特市"}, {"210100", "沈阳市"},
		{"210200", "大连市"}, {"220100", "长春市"}, {"230100", "哈尔滨市"}, {"310100", "上海市"},
		{"330100", "杭州市"}, {"330200", "宁波市"}, {"330300", "温州市"}, {"330600", "绍兴市"},
		{"331000", "台州市"}, {"340100", "合肥市"}, {"350100", "福州市"}, {"350200", "厦门市"},
		{"350500", "泉州市"}, {"360100", "南昌市"}, {"370100", "济南市"}, {"370200", "青岛市"},
		{"370600", "烟台市"}, {"410100", "郑州市"}, {"410300", "洛阳市"}, {"420100", "武汉市"},
		{"420500", "宜昌市"}, {"430100", "长沙市"}, {"430200", "株洲市"}, {"440100", "广州市"},
		{"440300", "深圳市"}, {"440600", "佛山市"}, {"441900", "东莞市"}, {"450100", "南宁市"},
		{"460100", "海口市"}, {"500100", "重庆市"}, {"510100", "成都市"}, {"510700", "绵阳市"},
		{"520100", "贵阳市"}, {"530100", "昆明市"}, {"540100", "拉萨市"}, {"610100", "西安市"},
		{"620100", "兰州市"}, {"630100", "西宁市"}, {"640100", "银川市"}, {"650100", "乌鲁木齐市"},
	}
}

// Counties returns the county-level divisions known under a prefecture code,
// in code order; nil for a prefecture without a county list. Only Jiangsu's
// prefectures have one. Each call returns a fresh slice.
func Counties(prefecture string) []Region {
	switch prefecture {
	case "320100":
		return []Region{{"320102", "玄武区"}, {"320104", "秦淮区"}, {"320105", "建邺区"}, {"320106", "鼓楼区"},
			{"320111", "浦口区"}, {"320113", "栖霞区"}, {"320114", "雨花台区"}, {"320115", "江宁区"}}
	case "320200":
		return []Region{{"320205", "锡山区"}, {"320206", "惠山区"}, {"320211", "滨湖区"}, {"320213", "梁溪区"},
			{"320214", "新吴区"}, {"320281", "江阴市"}, {"320282", "宜兴市"}}
	case "320300":
		return []Region{{"320302", "鼓楼区"}, {"320303", "云龙区"}, {"320305", "贾汪区"}, {"320311", "泉山区"},
			{"320312", "铜山区"}, {"320381", "新沂市"}, {"320382", "邳州市"}}
	case "320400":
		return []Region{{"320402", "天宁区"}, {"320404", "钟楼区"}, {"320411", "新北区"}, {"320412", "武进区"},
			{"320413", "金坛区"}, {"320481", "溧阳市"}}
	case "320500":
		return []Region{{"320505", "虎丘区"}, {"320506", "吴中区"}, {"320507", "相城区"}, {"320508", "姑苏区"},
			{"320509", "吴江区"}, {"320581", "常熟市"}, {"320582", "张家港市"}, {"320583", "昆山市"},
			{"320585", "太仓市"}}
	case "320600":
		return []Region{{"320612", "通州区"}, {"320613", "崇川区"}, {"320614", "海门区"}, {"320681", "启东市"},
			{"320685", "海安市"}}
	case "320700":
		return []Region{{"320703", "连云区"}, {"320706", "海州区"}, {"320707", "赣榆区"}}
	case "320800":
		return []Region{{"320803", "淮安区"}, {"320804", "淮阴区"}, {"320812", "清江浦区"}, {"320813", "洪泽区"}}
	case "320900":
		return []Region{{"320902", "亭湖区"}, {"320903", "盐都区"}, {"320904", "大丰区"}, {"320981", "东台市"}}
	case "321000":
		return []Region{{"321002", "广陵区"}, {"321003", "邗江区"}, {"321012", "江都区"}, {"321081", "仪征市"},
			{"321084", "高邮市"}}
	case "321100":
		return []Region{{"321102", "京口区"}, {"321111", "润州区"}, {"321112", "丹徒区"}, {"321181", "丹阳市"},
			{"321182", "扬中市"}, {"321183", "句容市"}}
	case "321200":
		return []Region{{"321202", "海陵区"}, {"321203", "高港区"}, {"321204", "姜堰区"}, {"321281", "兴化市"},
			{"321282", "靖江市"}, {"321283", "泰兴市"}}
	case "321300":
		return []Region{{"321302", "宿城区"}, {"321311", "宿豫区"}, {"321322", "沭阳县"}, {"321323", "泗阳县"},
			{"321324", "泗洪县"}}
	}
	return nil
}

// RegionName names a province, a known prefecture or a known county; "" if
// the code is not in the tables.
func RegionName(code string) string {
	if len(code) != 6 {
		return ""
	}
	if strings.HasSuffix(code, "0000") {
		return provinceName(code[:2])
	}
	pref := PrefectureOf(code)
	for _, r := range Prefectures() {
		if r.Code == code {
			return r.Name
		}
	}
	for _, r := range Counties(pref) {
		if r.Code == code {
			return r.Name
		}
	}
	return ""
}

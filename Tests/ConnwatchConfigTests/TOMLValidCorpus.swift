import Foundation
import Testing

@testable import ConnwatchConfig

extension TOMLParserTests {
    // MARK: Corpus for the differential test (also fed to the crash test)

    static let validCorpus: [String] = [
        "",
        #"""
            # only a comment

               \#t

            """#,
        #"""
            a = 1
            b = -2
            c = +3
            d = 0
            e = -0
            f = 1_000_000
            g = 9223372036854775807
            h = -9223372036854775808

            """#,
        #"""
            hex = 0xDEADbeef
            hex2 = 0x00_ff
            oct = 0o755
            bin = 0b1101_0101
            max = 0x7FFFFFFFFFFFFFFF

            """#,
        #"""
            f1 = 1.0
            f2 = -3.1415
            f3 = 5e+22
            f4 = 1e06
            f5 = -2E-2
            f6 = 6.626e-34
            f7 = 224_617.445_991_228
            f8 = -0.0
            f9 = +0.0
            f10 = 0e0

            """#,
        #"""
            a = inf
            b = +inf
            c = -inf
            d = nan
            e = +nan
            f = -nan

            """#,
        #"""
            big = 1e400
            tiny = 5e-324
            x = 0.1
            y = 123456789012345678.5

            """#,
        #"""
            t = true
            f = false

            """#,
        #"""
            s = "hello"
            q = "quote \" backslash \\ tab \t nl \n cr \r ff \f bs \b"

            """#,
        #"""
            u = "\u00e9\u20AC \U0001F600 \u0000"
            raw = "café 中文 🚀"

            """#,
        #"""
            lit = 'C:\Users\nodejs\templates'
            q = '<\i\c*\s*>'
            empty = ''
            e2 = ""

            """#,
        #"""
            s = """
            Roses are red
            Violets are blue"""

            """#,
        #"""
            s = """\
               The quick brown \


               fox jumps over \
                 the lazy dog.\
               """

            """#,
        #"""
            s = """Here are two quotation marks: "". Simple enough."""
            s2 = """Here are three quotation marks: ""\"."""
            s3 = """Here are fifteen quotation marks: ""\"""\"""\"""\"""\"."""
            s4 = """"This," she said, "is just a pointless statement.""""

            """#,
        #"""
            re = '''I [dw]on't need \d{2} apples'''
            lines = '''
            The first newline is
            trimmed in raw strings.
               All other whitespace
               is preserved.
            '''
            q = '''Here are fifteen quotation marks: """""""""""""""'''
            a = ''''That,' she said, 'is still pointless.''''

            """#,
        #"""
            s = """tab\#there, ws \t  \
              \#t  end"""

            """#,
        #"""
            key = "value"
            bare_key = "value"
            bare-key = "value"
            1234 = "value"
            "127.0.0.1" = "value"
            "character encoding" = "value"
            "ʕʘ̫ʘʔ" = "value"
            'key2' = "value"
            'quoted "value"' = "value"
            "" = "blank"

            """#,
        #"""
            name = "Orange"
            physical.color = "orange"
            physical.shape = "round"
            site."google.com" = true

            """#,
        #"""
            fruit.name = "banana"
            fruit. color = "yellow"
            fruit . flavor = "banana"
            3.14159 = "pi"

            """#,
        #"""
            apple.type = "fruit"
            orange.type = "fruit"
            apple.skin = "thin"
            orange.skin = "thick"
            apple.color = "red"
            orange.color = "orange"

            """#,
        #"""
            [table-1]
            key1 = "some string"
            key2 = 123

            [table-2]
            key1 = "another string"
            key2 = 456

            """#,
        #"""
            [dog."tater.man"]
            type.name = "pug"
            [ j . "ʞ" . 'l' ]
            [a.b.c]
            [ d.e.f ]
            [ g .  h  . i ]

            """#,
        #"""
            [x.y.z.w]
            [x]

            """#,
        #"""
            [fruit]
            apple.color = "red"
            apple.taste.sweet = true
            [fruit.apple.texture]
            smooth = true

            """#,
        #"""
            name = "Fido"
            breed = "pug"
            [owner]
            name = "Regina Dogman"
            member_since = 1999-08-04

            """#,
        #"""
            odt1 = 1979-05-27T07:32:00Z
            odt2 = 1979-05-27T00:32:00-07:00
            odt3 = 1979-05-27T00:32:00.999999-07:00
            odt4 = 1979-05-27 07:32:00Z
            odt5 = 1979-05-27t07:32:00z

            """#,
        #"""
            ldt1 = 1979-05-27T07:32:00
            ldt2 = 1979-05-27T00:32:00.999999
            ld1 = 1979-05-27
            ld2 = 2000-02-29
            ld3 = 2024-12-31 # comment
            lt1 = 07:32:00
            lt2 = 00:32:00.999999

            """#,
        #"""
            integers = [ 1, 2, 3 ]
            colors = [ "red", "yellow", "green" ]
            nested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]
            nested_mixed_array = [ [ 1, 2 ], ["a", "b", "c"] ]
            string_array = [ "all", 'strings', """are the same""", '''type''' ]
            numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]
            contributors = [
              "Foo Bar <foo@example.com>",
              { name = "Baz Qux", email = "bazqux@example.com", url = "https://example.com/bazqux" }
            ]

            """#,
        #"""
            integers2 = [
              1, 2, 3
            ]
            integers3 = [
              1,
              2, # this is ok
            ]
            empty = []
            empty2 = [ # c
            ]
            n = [[],[[]]]

            """#,
        #"""
            name = { first = "Tom", last = "Preston-Werner" }
            point = { x = 1, y = 2 }
            animal = { type.name = "pug" }
            empty = {}
            nested = { a = { b = { c = [1, {d = 2}] } } }

            """#,
        #"""
            [[products]]
            name = "Hammer"
            sku = 738594937

            [[products]]  # empty table within the array

            [[products]]
            name = "Nail"
            sku = 284758393

            color = "gray"

            """#,
        #"""
            [[fruits]]
            name = "apple"

            [fruits.physical]  # subtable
            color = "red"
            shape = "round"

            [[fruits.varieties]]  # nested array of tables
            name = "red delicious"

            [[fruits.varieties]]
            name = "granny smith"


            [[fruits]]
            name = "banana"

            [[fruits.varieties]]
            name = "plantain"

            """#,
        #"""
            points = [ { x = 1, y = 2, z = 3 },
                       { x = 7, y = 8, z = 9 },
                       { x = 2, y = 4, z = 8 } ]

            """#,
        #"""
            a = 1\#r
            b = "x"\#r
            [t]\#r
            c = """\#r
            line1\#r
            line2"""\#r
            d = '''\#r
            l\#r
            '''\#r
            # comment\#r

            """#,
        #"""
              indented = 1
            \#t[ t ] \#u{20}
            \#t  k\#t=\#t"v"\#t# c

            """#,
        #"""
            a.b.c = 1
            a.d = 2
            [a.e]
            f = 3

            """#,
        #"""
            [a.b.c]
            z = 1
            [a]
            b.d = 2

            """#,
        #"""
            [a]
            [a.b]
            [a.b.c]
            [a.d]

            """#,
        #"""
            [[a]]
            [a.b]
            x = 1
            [[a]]
            [a.b]
            x = 2

            """#,
        #"""
            arr = [1, "two", 3.0, true, [4], {five = 5}, 1979-05-27, 07:32:00, 1979-05-27T07:32:00Z]

            """#,
        #"""
            # comment with unicode é 😀 and tab\#t
            k = "v" #trailing é

            """#,
        #"""
            key = "# not a comment"
            other = '#'

            """#,
        #"""
            "a.b" = 1
            a.b = 2
            'a'.c = 3
            "" . "" = 4

            """#,
        #"""
            leap = 2000-02-29
            normal = 2023-02-28
            end = 1999-12-31T23:59:59.123Z
            off = 2020-01-01T00:00:00+23:59

            """#,
        #"""
            s = """a""b"""
            t = """
            """
            u = """""""
            v = '''''''

            """#,
        #"""
            k = "\u00E9"
            l = "\U0010FFFF"
            m = "\uD7FF\uE000"

            """#,
        #"""
            [tbl]
            inner = { a.b = 1, a.c = "x" }
            [tbl.other]

            """#,
    ]
}

//! The functions of the expression language: Entra's documented set, with their argument counts
//! and a one-line description for the console's expression editor.

pub struct Function {
    pub name: &'static str,
    pub min_args: usize,
    /// `None`: any number.
    pub max_args: Option<usize>,
    pub signature: &'static str,
    pub summary: &'static str,
}

const fn f(
    name: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    signature: &'static str,
    summary: &'static str,
) -> Function {
    Function {
        name,
        min_args,
        max_args,
        signature,
        summary,
    }
}

pub const FUNCTIONS: &[Function] = &[
    f("Append", 2, Some(2), "Append(source, suffix)", "Appends suffix to source."),
    f("AppRoleAssignmentsComplex", 1, Some(1), "AppRoleAssignmentsComplex([appRoleAssignments])", "All app roles assigned to the user, as SCIM role objects."),
    f("BitAnd", 2, Some(2), "BitAnd(value1, value2)", "Bitwise AND of two integers."),
    f("CBool", 1, Some(1), "CBool(expression)", "True when the expression is true or a non-zero number."),
    f("CDate", 1, Some(1), "CDate(expression)", "Reads a date (ISO 8601, M/d/yyyy, generalized time); the result is UTC."),
    f("Coalesce", 1, None, "Coalesce(source1, source2, ..., defaultValue)", "The first argument that has a value."),
    f("ConvertToBase64", 1, Some(1), "ConvertToBase64(source)", "Base64 of the text encoded as UTF-16LE."),
    f("ConvertToUTF8Hex", 1, Some(1), "ConvertToUTF8Hex(source)", "The text's UTF-8 bytes in upper-case hexadecimal."),
    f("Count", 1, Some(1), "Count(attribute)", "How many values a multi-valued attribute has."),
    f("CStr", 1, Some(1), "CStr(value)", "The value as text."),
    f("DateAdd", 3, Some(3), "DateAdd(interval, value, dateTime)", "Adds value intervals (yyyy, m, d, ww, h, n, s) to a date."),
    f("DateDiff", 3, Some(3), "DateDiff(interval, date1, date2)", "date2 - date1 in whole intervals (yyyy, m, d, ww, h, n, s)."),
    f("DateFromNum", 1, Some(1), "DateFromNum(value)", "An Active Directory FILETIME number as a date."),
    f("FormatDateTime", 3, Some(4), "FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat)", "Reads a date with one .NET format and writes it with another."),
    f("Guid", 0, Some(0), "Guid()", "A new random GUID."),
    f("IgnoreFlowIfNullOrEmpty", 1, Some(1), "IgnoreFlowIfNullOrEmpty(expression)", "Leaves the attribute out of the request when the expression is null or empty."),
    f("IIF", 3, Some(3), "IIF(condition, valueIfTrue, valueIfFalse)", "One of two values, by a condition such as [country]=\"USA\"."),
    f("InStr", 2, Some(4), "InStr(value1, value2, start, compareType)", "1-based position of value2 in value1, 0 when absent; vbTextCompare ignores case."),
    f("IsNull", 1, Some(1), "IsNull(expression)", "True when the expression has no value."),
    f("IsNullOrEmpty", 1, Some(1), "IsNullOrEmpty(expression)", "True when the expression has no value or is empty."),
    f("IsPresent", 1, Some(1), "IsPresent(expression)", "True when the expression has a non-empty value."),
    f("IsString", 1, Some(1), "IsString(expression)", "True when the expression is text."),
    f("Item", 2, Some(2), "Item(attribute, index)", "The index-th value (1-based) of a multi-valued attribute."),
    f("Join", 2, None, "Join(separator, source1, source2, ...)", "Joins the values (multi-valued ones flattened, empty ones skipped) with separator."),
    f("Left", 2, Some(2), "Left(string, numChars)", "The first numChars characters."),
    f("Mid", 3, Some(3), "Mid(source, start, length)", "length characters from the 1-based start."),
    f("NormalizeDiacritics", 1, Some(1), "NormalizeDiacritics(source)", "Replaces accented letters with plain ones (Zoë -> Zoe)."),
    f("Not", 1, Some(1), "Not(source)", "The boolean opposite."),
    f("Now", 0, Some(0), "Now()", "The current date and time (UTC)."),
    f("NumFromDate", 1, Some(1), "NumFromDate(value)", "A date as an Active Directory FILETIME number."),
    f("PCase", 1, Some(2), "PCase(source, wordSeparators)", "Each word with a capital first letter and the rest lower case."),
    f("RandomString", 1, Some(6), "RandomString(length, minimumNumbers, minimumSpecialCharacters, minimumCapital, minimumLowerCase, charactersToAvoid)", "A random string with the given composition."),
    f("Redact", 1, Some(1), "Redact(value)", "Provisions the value but shows [Redact] in logs."),
    f("RemoveDuplicates", 1, Some(1), "RemoveDuplicates(attribute)", "A multi-valued attribute without repeated values."),
    f("Replace", 7, Some(7), "Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, replacementAttributeName, template)", "Replaces text or regular-expression matches."),
    f("SelectUniqueValue", 1, None, "SelectUniqueValue(uniqueValueRule1, uniqueValueRule2, ...)", "The first rule whose value is not yet used in the target (outermost function only)."),
    f("SingleAppRoleAssignment", 1, Some(1), "SingleAppRoleAssignment([appRoleAssignments])", "The one app role assigned to the user."),
    f("Split", 2, Some(2), "Split(source, delimiter)", "Splits text into a multi-valued attribute."),
    f("StripSpaces", 1, Some(1), "StripSpaces(source)", "Removes every space character."),
    f("Switch", 4, None, "Switch(source, defaultValue, key1, value1, key2, value2, ...)", "The value whose key equals source (case sensitive), else defaultValue."),
    f("ToLower", 1, Some(2), "ToLower(source, culture)", "Lower case."),
    f("ToUpper", 1, Some(2), "ToUpper(source, culture)", "Upper case."),
    f("Word", 3, Some(3), "Word(string, wordNumber, delimiters)", "The wordNumber-th word (1-based), words separated by any of delimiters."),
];

pub fn find(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// A function whose name differs only in case (`join` for `Join`), for a helpful error.
pub fn find_ignoring_case(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_43() {
        assert_eq!(super::FUNCTIONS.len(), 43);
        let mut names: Vec<_> = super::FUNCTIONS.iter().map(|f| f.name).collect();
        names.dedup();
        assert_eq!(names.len(), 43);
    }
}

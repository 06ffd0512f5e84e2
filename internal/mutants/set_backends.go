package main

// Moving a realm between backends (issue 21, item 7: nothing lost, all or
// nothing) and the command run as root in the server's data folder (item
// 5: no symlink followed).
func init() {
	set = append(set, []mutant{
		{
			name: "import-writes-lines-before-a-bad-one", rule: "move", file: "moving.go",
			find: "return nil, fmt.Errorf(\"line %d of the export: %v\", n, err)", repl: "break",
			pkg: ".", tests: "TestImportWritesNothingWhenALineIsBad",
		},
		{
			name: "import-overwrites-without-replace", rule: "move", file: "moving.go",
			find: "importer.Import(ctx, accounts, mf.replace)", repl: "importer.Import(ctx, accounts, true)",
			pkg: ".", tests: "TestImportRefusesTakenNamesUnlessToldToReplace",
		},
		{
			name: "file-import-overwrites-without-replace", rule: "move", file: "users/import.go",
			find: "if len(replaced) > 0 && !replace {", repl: "if len(replaced) > 0 && replace {",
			pkg: ".", tests: "TestImportRefusesTakenNamesUnlessToldToReplace",
		},
		{
			name: "redis-import-overwrites-without-replace", rule: "move", file: "users/import.go",
			find: "if ARGV[1] ~= '1' and #taken > 0 then", repl: "if ARGV[1] == '1' and #taken > 0 then",
			pkg: ".", tests: "TestImportRefusesTakenNamesUnlessToldToReplace",
		},
		{
			name: "import-keeps-foreign-seals", rule: "move", file: "moving.go",
			find: "\tif len(foreign) == 0 {\n\t\treturn nil\n\t}", repl: "\tif true {\n\t\treturn nil\n\t}",
			pkg: ".", tests: "TestImportSealsAuthenticatorAppsAgainWithTheOldConfigsKeys",
		},
		{
			name: "move-to-redis-not-warned", rule: "move", file: "realm.go",
			find: "\tif sa.Redis == \"\" {\n\t\treturn\n\t}\n\tpath := filepath.Join(dataDir(), sa.Realm, \"users.json\")",
			repl: "\tif sa.Redis != \"\" {\n\t\treturn\n\t}\n\tpath := filepath.Join(dataDir(), sa.Realm, \"users.json\")",
			pkg:  ".", tests: "TestStartupWarnsWhenARealmMovedToRedisLeftItsAccountsInFiles",
		},
		{
			name: "cli-as-root-follows-symlinks", rule: "cli", file: "cli_symlinks.go",
			find: "if os.Geteuid() != 0 {", repl: "if os.Geteuid() == 0 {",
			pkg: ".", tests: "TestCommandAsRootFollowsNoSymlinkInTheDataFolder",
		},
		{
			name: "cli-symlink-not-named", rule: "cli", file: "cli_symlinks.go",
			find: "\t\tif link != \"\" {\n\t\t\tfiles.Close()\n\t\t\treturn cliFiles{}, symlinkRefused(link, p.fs.Anchor())",
			repl: "\t\tif false {\n\t\t\tfiles.Close()\n\t\t\treturn cliFiles{}, symlinkRefused(link, p.fs.Anchor())",
			pkg:  ".", tests: "TestCommandAsRootFollowsNoSymlinkInTheDataFolder",
		},
		{
			name: "confined-fs-follows-symlinks", rule: "cli", file: "internal/atomicfile/fs.go",
			find: "\tif c.anchor == \"\" {\n\t\treturn op(osFiles{}, paths)", repl: "\tif true {\n\t\treturn op(osFiles{}, paths)",
			pkg: "./internal/atomicfile", tests: "TestConfinedFSNeverLeavesItsAnchor",
		},
	}...)
}

# The Debian package (CPack): `cpack -G DEB` in the build directory writes
# tokencast_<version>_amd64.deb with the binary (the web client is built into it), the
# rendezvous's systemd unit, an example configuration, every command's --help text and the
# docs. Runtime dependencies come from dpkg-shlibdeps. tests/deb/run builds, installs, uses and
# removes it.
include(GNUInstallDirs)

install(TARGETS tokencast RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES packaging/systemd/tokencast-rendezvous.service
        DESTINATION lib/systemd/system)
install(FILES packaging/examples/rendezvous.env packaging/examples/rendezvous-cluster.env
              packaging/examples/nats-cluster.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md" PATTERN "*.png")

# Every command's --help, as the binary prints it, in share/doc/tokencast/help/<command>.txt.
set(help_dir ${PROJECT_BINARY_DIR}/help)
set(help_files "")
foreach(command host join rendezvous sessions export verify end models)
  list(APPEND help_files ${help_dir}/${command}.txt)
  add_custom_command(
    OUTPUT ${help_dir}/${command}.txt
    COMMAND ${CMAKE_COMMAND} -E make_directory ${help_dir}
    COMMAND $<TARGET_FILE:tokencast> ${command} --help > ${help_dir}/${command}.txt
    DEPENDS tokencast
    COMMENT "tokencast ${command} --help"
    VERBATIM)
endforeach()
add_custom_target(tokencast_help ALL DEPENDS ${help_files})
install(FILES ${help_files} DESTINATION ${CMAKE_INSTALL_DOCDIR}/help)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tokencast)
set(CPACK_PACKAGE_VENDOR "tokencast")
set(CPACK_PACKAGE_CONTACT "tokencast maintainers <maintainers@tokencast.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "stream an LLM's answer live, peer-to-peer and end-to-end encrypted")
set(CPACK_PACKAGE_DESCRIPTION
    "Scan a QR code and watch an LLM's answer arrive live, token by token, over WebRTC data
channels. The host runs the model (a server, a command or stdin), keeps the session durably and
serves the web client; the rendezvous only introduces peers and never sees a secret.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://tokencast.invalid")
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)  # xz takes minutes on the 100 MB binary with symbols
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_INSTALL_DIRECTORY /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
